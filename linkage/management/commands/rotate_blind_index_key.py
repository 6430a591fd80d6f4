"""`manage.py rotate_blind_index_key [--check]`: re-index every individual number under the
newest BLIND_INDEX_KEYS key, while the system runs.

Procedure: put the new key first in BLIND_INDEX_KEYS (keep the old one after it) and restart
the processes, which then look numbers up under both; run this command (it resumes where an
interrupted run stopped); when `--check` reports every person verified under the newest key,
remove the old key and restart again. A bulk import waits until the rotation is done.
Exit status 1 from `--check` while persons remain or any index does not verify.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from linkage.services.key_rotation import (
    blind_index_key_rotate,
    blind_index_verify,
    persons_under_old_blind_index,
)
from primitives.crypto import keyring


class Command(BaseCommand):
    help = "Re-index every individual number under the newest blind-index key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check", action="store_true", help="only count and verify, change nothing"
        )

    def handle(self, *args: Any, check: bool, **options: Any) -> None:
        current = keyring().blind_index_key_id
        if not check:
            report = blind_index_key_rotate()
            self.stdout.write(f"{report.reindexed} persons re-indexed under key {current}")
        remaining = persons_under_old_blind_index().count()
        if remaining:
            raise CommandError(f"{remaining} persons are still indexed under older keys")
        wrong = blind_index_verify()
        if wrong:
            raise CommandError(f"{wrong} persons' indexes do not verify under key {current}")
        self.stdout.write(
            f"Every individual number is indexed and verified under key {current}; "
            "older blind-index keys can be removed."
        )
