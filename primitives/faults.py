"""Fault injection for a simulated peer: each reads its control row on every request, so an
outage can be switched on and off while the servers and workers run."""

from __future__ import annotations

import random
import time
from typing import Any, TypeVar

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models
from django.http import HttpResponse, JsonResponse

_random = random.Random()  # noqa: S311 (fault injection, not security)


class FaultControl(models.Model):
    """Fault injection for one simulator: latency, random errors and timeouts, a 503 switch."""

    name = models.CharField(max_length=20, unique=True)
    latency_ms = models.PositiveIntegerField(default=0)
    error_rate = models.FloatField(default=0.0, help_text="share of requests answered 500")
    timeout_rate = models.FloatField(default=0.0, help_text="share of requests left unanswered")
    unavailable = models.BooleanField(default=False, help_text="answer every request with 503")

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name


ControlT = TypeVar("ControlT", bound=FaultControl)


def injected_fault(model: type[FaultControl], name: str) -> HttpResponse | None:
    """The fault injected into this request to simulator `name`, or None to serve it."""
    control = model._default_manager.filter(name=name).first()
    if control is None:
        return None
    if control.latency_ms:
        time.sleep(control.latency_ms / 1000)
    if control.unavailable:
        response = JsonResponse({"code": "unavailable", "detail": f"{name} is down"}, status=503)
        response["Retry-After"] = "2"
        return response
    draw = _random.random()
    if draw < control.error_rate:
        return JsonResponse({"code": "injected_error", "detail": f"{name} failed"}, status=500)
    if draw < control.error_rate + control.timeout_rate:
        # Longer than the client's timeout: it gives up waiting, as with a real outage.
        time.sleep(settings.SIMULATED_TIMEOUT_SECONDS)
        return JsonResponse({"code": "injected_timeout"}, status=504)
    return None


def fault_control_set(
    model: type[ControlT], names: tuple[str, ...], name: str, **changes: Any
) -> ControlT:
    if name not in names:
        raise ValueError(f"unknown simulator {name!r}; known: {', '.join(names)}")
    control, _ = model._default_manager.update_or_create(name=name, defaults=changes)
    return control


class FaultControlCommand(BaseCommand):
    """`NAME [--unavailable on|off] [--latency-ms N] [--error-rate R] [--timeout-rate R]`:
    switch one simulator's faults while everything runs (each app names its simulators)."""

    help = "Set fault injection for one simulated peer."
    model: type[FaultControl]
    names: tuple[str, ...]

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", choices=self.names)
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
        control = fault_control_set(self.model, self.names, name, **changes)
        self.stdout.write(
            f"{control.name}: unavailable={control.unavailable} latency_ms={control.latency_ms} "
            f"error_rate={control.error_rate} timeout_rate={control.timeout_rate}"
        )
