"""Duplicate screening of persons without an individual number, after the fact (SPEC 10.3).

The write path screens each new person without a number against the persons committed
before it (linkage.services.pipeline, `screening`). Two new persons that are one individual
can still both be numbered unseen: two rows of one file (a batch is screened before it is
stored), or two business systems registering the person at the same moment (neither
transaction sees the other's). So every such person is screened again once committed: the
write path leaves a `ScreeningDue` row beside it, and `screening_due_sweep` (beat) screens
those persons against everything committed by then. Of any two, the one committed later is
screened again after both exist, so the pair is found.

A pair already in the review list (either way round, in any state, 別人 included) is not
suggested again. `manage.py screen_persons` screens every stored person without a number the
same way, for after an initial load, which does not screen.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet

from ..matching.search import Candidate, candidates_find
from ..models import AddressVersion, ReviewItem, ScreeningDue
from ..tables import build, insert

# Persons screened again per transaction, and how long one sweep goes on at most (a
# nightly file can leave thousands; the next sweep takes up the rest).
SWEEP_BATCH = 200
SWEEP_SECONDS = 50.0
# The advisory lock one sweep holds while it screens (PostgreSQL): a key of its own.
SWEEP_LOCK = 0x4C4B5343  # "LKSC": the screening sweep


@dataclass(frozen=True)
class Screened:
    persons: int
    opened: int


def unnumbered_current_versions() -> QuerySet[AddressVersion]:
    """The current versions of the persons without an individual number, merged ones aside."""
    return AddressVersion.objects.current().filter(
        person__individual_number_index__isnull=True, person__merged_into__isnull=True
    )


def possible_duplicate(person_id: int, candidate: Candidate) -> ReviewItem:
    """The review item (名寄せ候補) for a person and a candidate found for it, unsaved."""
    return build(
        ReviewItem,
        kind=ReviewItem.Kind.POSSIBLE_DUPLICATE,
        person_id=person_id,
        other_id=candidate.person_id,
        score=candidate.score,
        agreement=candidate.agreement,
    )


def persons_screen(versions: Iterable[AddressVersion], known: set[frozenset[int]]) -> Screened:
    """A POSSIBLE_DUPLICATE review item for each candidate above the review threshold of each
    version's person, unless the pair is in `known` (which learns the pairs found)."""
    screened = opened = 0
    for version in versions:
        screened += 1
        candidates = candidates_find(
            version, limit=settings.MATCHING["review_candidates"], exclude={version.person_id}
        )
        items = [
            possible_duplicate(version.person_id, candidate)
            for candidate in candidates
            if frozenset((version.person_id, candidate.person_id)) not in known
        ]
        known |= {frozenset((version.person_id, c.person_id)) for c in candidates}
        insert(items)
        opened += len(items)
    return Screened(screened, opened)


def pairs_listed(person_ids: Iterable[int] | None = None) -> set[frozenset[int]]:
    """The pairs of persons in the review list, either way round: of these persons, or all."""
    items = ReviewItem.objects.filter(other__isnull=False)
    if person_ids is not None:
        ids = list(person_ids)
        items = items.filter(Q(person_id__in=ids) | Q(other_id__in=ids))
    return {frozenset(pair) for pair in items.values_list("person_id", "other_id")}


def screening_due_sweep(*, batch: int = SWEEP_BATCH, seconds: float = SWEEP_SECONDS) -> Screened:
    """Screen again the persons whose screening is due, a batch per transaction, until none
    is left, `seconds` have passed, or another sweep is screening. A person that has its
    number by now, or was merged, is only let go."""
    started = time.monotonic()
    persons = opened = 0
    while time.monotonic() - started < seconds:
        with transaction.atomic():
            if not _alone():
                break
            due = list(ScreeningDue.objects.order_by("pk").values_list("pk", "person_id")[:batch])
            if not due:
                break
            person_ids = [person_id for _, person_id in due]
            versions = unnumbered_current_versions().filter(person_id__in=person_ids)
            done = persons_screen(versions, pairs_listed(person_ids))
            ScreeningDue.objects.filter(pk__in=[pk for pk, _ in due]).delete()
        persons += done.persons
        opened += done.opened
    return Screened(persons, opened)


def _alone() -> bool:
    """Whether this transaction is the only sweep screening (PostgreSQL: it takes the sweep's
    advisory lock until it ends; SQLite runs one writer at a time anyway). Two sweeps side by
    side, each screening one of a pair, would each find the other person and each open the
    pair, neither seeing the other's item before it commits."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [SWEEP_LOCK])
        return bool(cursor.fetchone()[0])
