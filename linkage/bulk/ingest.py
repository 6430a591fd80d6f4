"""Storing a chunk of checked rows (bulk import) through the one write path.

A chunk is one batch of `linkage.services.pipeline.changes_store`: the same determination,
numbering, storing, code requests and notices as the API's batch of one, in one transaction.
An interrupted import loses at most the chunk in flight, and running the file again skips every
change already stored (idempotency by event_id, as the API).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils import timezone

from ..models import BackboneClient
from ..services.address_changes import AddressChangeError
from ..services.key_rotation import persons_under_old_blind_index
from ..services.pipeline import (
    Incoming,
    NewPerson,
    Refused,
    Repeat,
    Unchanged,
    changes_store,
)
from .checking import CheckedRow
from .rows import RowError

CODE_REQUEST_CAUSE = "person_registered (bulk import)"


@dataclass
class ChunkResult:
    registered: int = 0
    updated: int = 0
    unchanged: int = 0  # changes that brought nothing new (SPEC 7.1): a receipt, no version
    duplicates: int = 0
    kept: int = 0  # new persons who kept the integrated number an existing system gave them
    rejects: list[tuple[int, RowError]] = field(default_factory=list)

    def add(self, other: ChunkResult) -> None:
        """Another chunk's (or stream's) counts added to these; its rejects are its own."""
        self.registered += other.registered
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.duplicates += other.duplicates
        self.kept += other.kept


class BlindIndexRotationUnderWay(Exception):
    """A chunk's rows carry their newest-key index only: an import must not run while some
    persons are still indexed under an older key (rotate_blind_index_key)."""


class Importer:
    """Imports chunks for one run; caches what does not change during a run."""

    def __init__(self, *, screen: bool = True) -> None:
        self.screen = screen
        if persons_under_old_blind_index().exists():
            raise BlindIndexRotationUnderWay(
                "some persons are still indexed under an older blind-index key: "
                "finish `manage.py rotate_blind_index_key` before importing"
            )
        self.clients: dict[str, BackboneClient] = {}
        # The clients that take notices, per number system, looked up once per run.
        self.receivers: dict[str, list[BackboneClient]] = {}

    def client_for(self, number_system: str) -> BackboneClient:
        """The receipts' client: one per number system, named for the import, with no usable
        key (revoked at creation), so it can never call the API."""
        if number_system not in self.clients:
            client, _ = BackboneClient.objects.get_or_create(
                number_system=number_system,
                key_digest=f"bulk-import-{number_system}",
                defaults={
                    "name": "一括取込 (import_address_changes)",
                    "key_prefix": "-",
                    "revoked_at": timezone.now(),
                },
            )
            self.clients[number_system] = client
        return self.clients[number_system]

    def import_chunk(self, checked: list[CheckedRow]) -> ChunkResult:
        """Store the chunk's good rows in one transaction (retried from what is stored when
        a concurrent writer wins a race, as for the API)."""
        batch = [
            Incoming(
                change=row.change,
                client_id=self.client_for(row.change.number_system).pk,
                digest=row.digest,
                index=row.index,
                line=row.line,
            )
            for row in checked
            if row.change is not None
        ]
        result = ChunkResult()
        if not batch:
            return result
        for decision in changes_store(
            batch,
            cause=CODE_REQUEST_CAUSE,
            receivers=self.receivers,
            immediate_constraints=True,
            screen=self.screen,
        ):
            if isinstance(decision, Repeat):
                result.duplicates += 1
            elif isinstance(decision, Refused):
                result.rejects.append((decision.incoming.line, _error(decision.error)))
            elif isinstance(decision, Unchanged):
                result.unchanged += 1
            elif isinstance(decision, NewPerson):
                result.registered += 1
                result.kept += bool(decision.person.kept_number)
            else:
                result.updated += 1
        return result


def _error(error: AddressChangeError) -> RowError:
    return RowError(error.field, error.code, error.message)
