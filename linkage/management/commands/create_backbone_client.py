"""`manage.py create_backbone_client <number_system> <name> [--callback-url URL]`.

Prints the notice signing secret, then the new key as the last line of its output."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from linkage.management.client_arguments import client_arguments_add
from linkage.services.backbone_clients import (
    InvalidCallbackUrl,
    InvalidName,
    UnknownNumberSystem,
    backbone_client_create,
)


class Command(BaseCommand):
    help = "Create an API client for a backbone system; the key is shown once, on the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        client_arguments_add(parser)

    def handle(
        self, *args: Any, number_system: str, name: str, callback_url: str, **options: Any
    ) -> None:
        try:
            issued = backbone_client_create(
                number_system=number_system, name=name, callback_url=callback_url
            )
        except (UnknownNumberSystem, InvalidCallbackUrl, InvalidName) as error:
            raise CommandError(str(error)) from error
        client = issued.client
        self.stdout.write(
            f"Created backbone client #{client.pk} {client.name!r} for number system "
            f"{client.number_system}"
            + (f", notices to {client.callback_url}." if client.callback_url else ".")
        )
        self.stdout.write(f"Notice signing secret (HMAC-SHA256): {issued.notice_secret}")
        self.stdout.write("Store the secret and this key now; they are not shown again:")
        self.stdout.write(issued.key)
