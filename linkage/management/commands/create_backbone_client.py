"""`manage.py create_backbone_client <number_system> <name>`.

Prints the new key as the last line of its output."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from linkage.services.backbone_clients import UnknownNumberSystem, backbone_client_create


class Command(BaseCommand):
    help = "Create an API client for a backbone system; the key is shown once, on the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("number_system", help="2-digit number system, e.g. 01 for 住基")
        parser.add_argument("name", help="a name administrators recognise, e.g. '住基 (vendor A)'")

    def handle(self, *args: Any, number_system: str, name: str, **options: Any) -> None:
        try:
            client, key = backbone_client_create(number_system=number_system, name=name)
        except UnknownNumberSystem as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"Created backbone client #{client.pk} {client.name!r} for number system "
            f"{client.number_system}. Store this key now; it is not shown again:"
        )
        self.stdout.write(key)
