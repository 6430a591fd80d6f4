"""`manage.py create_staff_token <username> <name>`: prints the new key as its last line."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from linkage.services.backbone_clients import InvalidName, staff_token_create


class Command(BaseCommand):
    help = "Create an API key for a staff user; the key is shown once, on the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("name", help="what the key is for, e.g. 'error-list export'")

    def handle(self, *args: Any, username: str, name: str, **options: Any) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None or not user.is_active:
            raise CommandError(f"no active user named {username!r}")
        try:
            token, key = staff_token_create(user=user, name=name)
        except InvalidName as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"Created API key #{token.pk} for {username}. Store it now; it is not shown again:"
        )
        self.stdout.write(key)
