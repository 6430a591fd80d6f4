"""`manage.py purge_expired [--dry-run]`: delete the individual numbers of persons past the
retention period (INDIVIDUAL_NUMBER_RETENTION_DAYS), keeping the masked record and an
access record of the deletion. Run it daily (beat or cron)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from linkage.services.retention import individual_numbers_purge, persons_past_retention


class Command(BaseCommand):
    help = "Delete the individual numbers of persons past the retention period."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="only count them")

    def handle(self, *args: Any, dry_run: bool, **options: Any) -> None:
        days = settings.INDIVIDUAL_NUMBER_RETENTION_DAYS
        if dry_run:
            count = persons_past_retention().count()
            self.stdout.write(f"{count} persons have had no change for {days} days (dry run)")
            return
        purged = individual_numbers_purge()
        self.stdout.write(
            f"Deleted the individual numbers of {len(purged)} persons with no change for"
            f" {days} days; each deletion is in the access records."
        )
