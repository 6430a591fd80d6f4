"""`manage.py rotate_encryption_key [--check]`: re-encrypt every sealed value (individual
numbers, notice secrets) under the newest FIELD_ENCRYPTION_KEYS key, while the system runs.

Procedure: put the new key first in FIELD_ENCRYPTION_KEYS (keep the old ones after it) and
restart the processes; run this command; when `--check` shows no value under an old key,
remove the old key and restart again. Exit status 1 from `--check` while values remain.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from linkage.services.key_rotation import encryption_key_rotate, tokens_by_key
from primitives.crypto import keyring


class Command(BaseCommand):
    help = "Re-encrypt every sealed value under the newest encryption key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check", action="store_true", help="only count the values under each key"
        )

    def handle(self, *args: Any, check: bool, **options: Any) -> None:
        current = keyring().current_key_id
        if not check:
            for label, result in encryption_key_rotate().items():
                self.stdout.write(
                    f"{label}: {result.resealed} re-encrypted"
                    + (
                        f", {result.changed_meanwhile} changed meanwhile"
                        if result.changed_meanwhile
                        else ""
                    )
                )
        remaining = 0
        for label, counts in tokens_by_key().items():
            old = sum(n for key_id, n in counts.items() if key_id != current)
            remaining += old
            self.stdout.write(
                f"{label}: {counts.get(current, 0)} under key {current}, {old} under older keys"
            )
        if remaining:
            message = f"{remaining} values are still under older keys"
            if check:
                raise CommandError(message)
            raise CommandError(message + " (changed meanwhile: run the command again)")
        self.stdout.write(f"Every sealed value is under key {current}; older keys can be removed.")
