"""Deletion of individual numbers past their retention period (特定個人情報の削除).

A person every link of which has ended (`record_status` ended, SPEC 7.1: no business system
handles it any more) for INDIVIDUAL_NUMBER_RETENTION_DAYS, with no version registered since,
and whose code request is settled (not in progress, not failed), loses its individual number:
the encrypted value and the blind index are removed (the index could still confirm a
guessed number), the last four digits stay for the masked display, and one access record
of action `purge` names every person purged. The person, its versions and its links stay.
A person with an active link is never purged. A purged person who arrives again on one of
its links with its number gets the number attached again (SPEC 10.1).
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from primitives.vocabulary import RecordStatus

from ..models import AccessAction, AccessOutcome, CodeRequestStatus, Person
from .audit import access_record

BATCH = 500
# A purged person's index: unique like any index, and no HMAC can take this form.
PURGED_INDEX_PREFIX = "purged:"
PURGED_FIELDS = [
    "individual_number_last4",
    "individual_number_encrypted",
    "individual_number_index",
    "purged_at",
]


def persons_past_retention(now: datetime.datetime | None = None) -> QuerySet[Person]:
    cutoff = (now or timezone.now()) - datetime.timedelta(
        days=settings.INDIVIDUAL_NUMBER_RETENTION_DAYS
    )
    return (
        Person.objects.filter(purged_at__isnull=True)
        .exclude(cross_references__record_status=RecordStatus.ACTIVE)
        .exclude(cross_references__ended_at__gte=cutoff)
        .exclude(versions__registered_at__gte=cutoff)
        .filter(
            code_request__status__in=[
                CodeRequestStatus.REQUESTED,
                CodeRequestStatus.NOT_REQUESTED,
            ]
        )
        .order_by("pk")
    )


def individual_numbers_purge(*, batch: int = BATCH) -> list[str]:
    """Purge every person past retention; the integrated numbers purged."""
    purged: list[str] = []
    while True:
        with transaction.atomic():
            persons = list(persons_past_retention().select_for_update(of=("self",))[:batch])
            if not persons:
                break
            now = timezone.now()
            for person in persons:
                person.individual_number_last4 = person.individual_number[-4:]
                person.individual_number_encrypted = ""
                person.individual_number_index = f"{PURGED_INDEX_PREFIX}{person.pk}"
                person.purged_at = now
            Person.objects.bulk_update(persons, PURGED_FIELDS)
            numbers = [person.integrated_number for person in persons]
            access_record(
                action=AccessAction.PURGE,
                outcome=AccessOutcome.OK,
                username="purge_expired",
                criteria={"retention_days": str(settings.INDIVIDUAL_NUMBER_RETENTION_DAYS)},
                integrated_numbers=numbers,
                result_count=len(numbers),
            )
            purged += numbers
    return purged
