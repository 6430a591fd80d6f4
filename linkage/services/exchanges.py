"""What the copies (副本登録) and the inquiries (情報照会) of SPEC 11 share: the person a
business system's address number names, who must have an individual number (and so, once
acquired, a code), and the refusals the API answers with."""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from ..models import CodeRequestStatus, CrossReference, Person
from ..selectors import code_request_status_of

# What one drain task takes at the most (ten requests of COPY_BATCH); the rest, the next.
DRAIN_LIMIT = 5000


class ExchangeRefused(Exception):
    """A copy or an inquiry that cannot be accepted: `field` and `code` name the reason and
    `status` the HTTP status the API answers with. Nothing was stored."""

    def __init__(self, status: int, field: str, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.field, self.code, self.message = status, field, code, message


def exchange_person(*, number_system: str, address_number: str, what: str) -> Person:
    """The person linked under this address number (its representative if merged), who must
    hold an individual number: a person without one has no code (SPEC 10) and cannot have
    `what` (copies, inquiries)."""
    link = (
        CrossReference.objects.select_related("person__merged_into", "person__code_request")
        .filter(number_system=number_system, address_number=address_number)
        .first()
    )
    if link is None:
        raise ExchangeRefused(
            400,
            "address_number",
            "unknown_address_number",
            f"address number {address_number} of number system {number_system} is not "
            "linked to any person",
        )
    person = link.person.merged_into or link.person
    if not person.has_individual_number:
        raise ExchangeRefused(
            400,
            "address_number",
            "no_individual_number",
            f"the person has no individual number, so has no code and cannot have {what} "
            "(住登外者 without a number: SPEC 10)",
        )
    return person


def integrated_number_of(person: Person) -> str:
    """How the intermediate server knows the person: its representative's integrated number
    if it was merged since (SPEC 10.4)."""
    return (person.merged_into or person).integrated_number


def code_acquired(person: Person) -> bool:
    return code_request_status_of(person) == CodeRequestStatus.REQUESTED


def body_digest(body: dict[str, Any]) -> str:
    """A body's fingerprint: an event id sent again with another body is a conflict."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def event_id_reused() -> ExchangeRefused:
    return ExchangeRefused(
        409, "event_id", "event_id_reused", "this event id was sent before with another body"
    )


def configured(
    kind: str, key: str, entries: dict[str, dict[str, Any]], *, field: str
) -> dict[str, Any]:
    """The configured entry `key` of `entries` (data sets, procedures), or 400 naming them."""
    entry = entries.get(key)
    if entry is None:
        known = ", ".join(sorted(entries))
        raise ExchangeRefused(400, field, f"unknown_{kind}", f"no {kind} {key!r} ({known})")
    return entry


def waiting_release(
    rows: QuerySet[Any], *, person_ids: Sequence[int], due: Callable[[list[int]], None]
) -> int:
    """The copies or inquiries among `rows` that waited for these persons' codes become
    `sent`, and `due` hands them on (its signal, after commit). Returns how many."""
    model: Any = rows.model
    with transaction.atomic():
        waiting = list(
            rows.select_for_update()
            .filter(person_id__in=person_ids, status=model.Status.WAITING_FOR_CODE)
            .values_list("pk", flat=True)
        )
        if waiting:
            model.objects.filter(pk__in=waiting).update(
                status=model.Status.SENT, updated_at=timezone.now()
            )
            due(waiting)
    return len(waiting)


def stalled_resend(
    due_rows: QuerySet[Any],
    *,
    due: Callable[[list[int]], None],
    now: datetime.datetime | None = None,
) -> int:
    """The copies or inquiries among `due_rows` untouched for COPY_STALLED_AFTER seconds
    (their message was lost): claimed (touched, so the next sweep leaves them alone) and
    handed on by `due`. Returns how many."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(seconds=settings.COPY_STALLED_AFTER)
    ids = list(
        due_rows.filter(updated_at__lte=cutoff)
        .order_by("updated_at")
        .values_list("pk", flat=True)[:5000]
    )
    with transaction.atomic():
        if ids:
            due_rows.model.objects.filter(pk__in=ids).update(updated_at=now)
            due(ids)
    return len(ids)
