"""`manage.py create_oauth_client <number_system> <name> [--callback-url URL]` (SPEC 12).

Prints the notice signing secret, then `client_id <id>` and `client_secret <secret>` as the
last two lines of its output."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from linkage.management.client_arguments import client_arguments_add
from linkage.services.backbone_clients import (
    InvalidCallbackUrl,
    InvalidName,
    UnknownNumberSystem,
)
from linkage.services.oauth_clients import oauth_client_create


class Command(BaseCommand):
    help = (
        "Create an OAuth 2.0 client (client_credentials, client_secret_jwt) for a backbone "
        "system; the secret is shown once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        client_arguments_add(parser)

    def handle(
        self, *args: Any, number_system: str, name: str, callback_url: str, **options: Any
    ) -> None:
        try:
            issued = oauth_client_create(
                number_system=number_system, name=name, callback_url=callback_url
            )
        except (UnknownNumberSystem, InvalidCallbackUrl, InvalidName) as error:
            raise CommandError(str(error)) from error
        backbone = issued.client.backbone_client
        self.stdout.write(
            f"Created OAuth client {issued.client_id!r} (backbone client #{backbone.pk}, "
            f"{backbone.name!r}) for number system {backbone.number_system}"
            + (f", notices to {backbone.callback_url}." if backbone.callback_url else ".")
        )
        self.stdout.write(f"Notice signing secret (HMAC-SHA256): {issued.notice_secret}")
        self.stdout.write("Store the secret below now; it is not shown again:")
        self.stdout.write(f"client_id {issued.client_id}")
        self.stdout.write(f"client_secret {issued.client_secret}")
