"""`manage.py sweep_code_requests`: re-enqueue stalled code requests (beat runs it too)."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from linkage.services.code_requests import code_requests_sweep


class Command(BaseCommand):
    help = "Re-enqueue requesting code requests whose stage has not moved for a while."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--stalled-after",
            type=float,
            default=None,
            help="seconds (default CODE_REQUEST_STALLED_AFTER)",
        )

    def handle(self, *args: Any, stalled_after: float | None, **options: Any) -> None:
        delta = None if stalled_after is None else datetime.timedelta(seconds=stalled_after)
        self.stdout.write(f"re-enqueued {code_requests_sweep(stalled_after=delta)} code requests")
