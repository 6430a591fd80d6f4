"""`manage.py prune_notices`: delete the notices delivered more than NOTICE_KEEP_DAYS ago
(beat runs it daily at 03:45; pending notices are never deleted)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from linkage.services.notices import notices_prune


class Command(BaseCommand):
    help = "Delete the notices delivered more than NOTICE_KEEP_DAYS ago."

    def handle(self, *args: Any, **options: Any) -> None:
        pruned = notices_prune()
        self.stdout.write(
            f"Deleted {pruned} notices delivered more than {settings.NOTICE_KEEP_DAYS} days ago."
        )
