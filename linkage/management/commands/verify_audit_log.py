"""`manage.py verify_audit_log`: check the access records' hash chain.

Exit status 0 and the record count and last hash when the chain holds (keep the last hash
somewhere else, e.g. the operations log: a chain cut at its end is detected by comparing
it); exit status 1 and the first broken record otherwise. Each run is kept (the dashboard
shows the last one); beat runs it daily too.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from linkage.services.audit import audit_chain_verify_recorded


class Command(BaseCommand):
    help = "Verify the access records' hash chain; report the first broken record."

    def handle(self, *args: Any, **options: Any) -> None:
        report = audit_chain_verify_recorded()
        if report.broken is not None:
            raise CommandError(
                f"access record #{report.broken.record_id} breaks the chain: "
                f"{report.broken.reason} ({report.records - 1} records before it hold)"
            )
        self.stdout.write(
            f"{report.records} access records; the chain holds. Last hash: {report.last_hash}"
        )
