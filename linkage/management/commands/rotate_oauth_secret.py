"""`manage.py rotate_oauth_secret <client_id> [--grace-hours 24]`: a new client secret; the
old one keeps authenticating for the grace period. Prints `client_secret <secret>` last."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from linkage.management.client_arguments import grace_hours_add
from linkage.models import OAuthClient
from linkage.services.oauth_clients import oauth_client_secret_rotate


class Command(BaseCommand):
    help = "Rotate an OAuth client's secret; the old one works for the grace period."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("client_id")
        grace_hours_add(parser, "secret")

    def handle(self, *args: Any, client_id: str, grace_hours: float, **options: Any) -> None:
        client = OAuthClient.objects.filter(client_id=client_id, revoked_at__isnull=True).first()
        if client is None:
            raise CommandError(f"no OAuth client {client_id!r} that is not revoked")
        secret = oauth_client_secret_rotate(
            client=client, grace=datetime.timedelta(hours=grace_hours)
        )
        self.stdout.write(
            f"Rotated the secret of {client_id}; the old secret works for {grace_hours:g} more"
            " hours. Store the new secret now; it is not shown again:"
        )
        self.stdout.write(f"client_secret {secret}")
