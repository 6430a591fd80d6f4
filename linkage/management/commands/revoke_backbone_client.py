"""`manage.py revoke_backbone_client <id>`: the client's key stops working at once and its
notices are no longer sent (they are kept)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from linkage.models import BackboneClient
from linkage.services.backbone_clients import backbone_client_revoke


class Command(BaseCommand):
    help = "Revoke a backbone system's API client."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("id", type=int, help="the client's number, as create printed it")

    def handle(self, *args: Any, id: int, **options: Any) -> None:
        client = BackboneClient.objects.filter(pk=id, revoked_at__isnull=True).first()
        if client is None:
            raise CommandError(f"no backbone client #{id} that is not revoked")
        backbone_client_revoke(client=client)
        self.stdout.write(f"Revoked backbone client #{id} ({client.name}).")
