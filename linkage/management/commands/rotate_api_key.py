"""`manage.py rotate_api_key backbone|staff <id> [--grace-hours 24]`: a new key for a
business system or a staff token; the old key keeps working for the grace period. The new
key is printed once, as the last line."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from linkage.management.client_arguments import grace_hours_add
from linkage.models import ApiKey, BackboneClient, StaffToken
from linkage.services.backbone_clients import api_key_rotate

KINDS: dict[str, type[ApiKey]] = {"backbone": BackboneClient, "staff": StaffToken}


class Command(BaseCommand):
    help = "Rotate an API key; the old key keeps working for the grace period."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=sorted(KINDS))
        parser.add_argument("id", type=int)
        grace_hours_add(parser, "key")

    def handle(self, *args: Any, kind: str, id: int, grace_hours: float, **options: Any) -> None:
        key = KINDS[kind].objects.filter(pk=id, revoked_at__isnull=True).first()
        if key is None:
            raise CommandError(f"no {kind} key #{id} that is not revoked")
        new_key = api_key_rotate(key=key, grace=datetime.timedelta(hours=grace_hours))
        self.stdout.write(
            f"Rotated {kind} key #{id} ({key.name}); the old key works for {grace_hours:g} more"
            " hours. Store the new key now; it is not shown again:"
        )
        self.stdout.write(new_key)
