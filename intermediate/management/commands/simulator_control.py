"""`manage.py simulator_control NAME [--unavailable on|off] [--latency-ms N] [--error-rate R]
[--timeout-rate R]`: switch a simulated peer's faults while everything runs."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from intermediate.simulation import SIMULATORS, simulator_control_set


class Command(BaseCommand):
    help = "Set fault injection for one simulated peer."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", choices=SIMULATORS)
        parser.add_argument("--unavailable", choices=["on", "off"])
        parser.add_argument("--latency-ms", type=int)
        parser.add_argument("--error-rate", type=float)
        parser.add_argument("--timeout-rate", type=float)

    def handle(self, *args: Any, name: str, **options: Any) -> None:
        changes: dict[str, Any] = {}
        if options["unavailable"] is not None:
            changes["unavailable"] = options["unavailable"] == "on"
        for option in ("latency_ms", "error_rate", "timeout_rate"):
            if options[option] is not None:
                changes[option] = options[option]
        for rate in ("error_rate", "timeout_rate"):
            if rate in changes and not 0 <= changes[rate] <= 1:
                raise CommandError(f"--{rate.replace('_', '-')} must be between 0 and 1")
        control = simulator_control_set(name, **changes)
        self.stdout.write(
            f"{control.name}: unavailable={control.unavailable} latency_ms={control.latency_ms} "
            f"error_rate={control.error_rate} timeout_rate={control.timeout_rate}"
        )
