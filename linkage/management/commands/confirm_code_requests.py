"""`manage.py confirm_code_requests`: confirmation unit 42, once (beat runs it periodically)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from linkage.services.code_requests import code_requests_confirm
from primitives.http import PeerUnavailable


class Command(BaseCommand):
    help = "Ask the intermediate server about every requesting person; set requested or error."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            counts = code_requests_confirm()
        except PeerUnavailable as error:
            raise CommandError(f"the intermediate server is unavailable: {error}") from error
        self.stdout.write(
            f"acquired {counts['acquired']}, error {counts['error']}, "
            f"still pending {counts['pending']}"
        )
