"""名寄せ: merging two persons who are one individual, and undoing it (SPEC 10.4).

Person B merged into representative A (代表宛名) keeps its row, its integrated number, its
versions and its links; `B.merged_into = A` makes its links resolve to A everywhere (the write
path, the API, the screens, the lists). So an unmerge restores B with exactly the links it had:
nothing was moved. Versions stored on A while B was merged stay A's: they were stored as A's
basic items and were told to the systems as A's.

Every merge and unmerge is a PersonMerge record (who, when, why, automatic or manual), an
access record, and notices `person.merged` / `person.unmerged` to every business system linked
to either person, so each can replace the integrated number it stores (docs/notices.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from primitives.vocabulary import NoticeEvent

from ..events import notices_due
from ..models import (
    AccessAction,
    AccessOutcome,
    AddressVersion,
    CrossReference,
    Notice,
    Person,
    PersonMerge,
    ReviewItem,
)
from ..tables import build, insert
from .audit import access_record
from .notices import receivers_by_number_system

SYSTEM_USER = "linkage"  # who merged, for an automatic merge


@dataclass(frozen=True)
class MergeRefused(Exception):
    """A merge or unmerge SPEC 10.4 refuses (409), with its code and reason."""

    code: str
    message: str
    field: str = "merged_integrated_number"

    def __str__(self) -> str:
        return self.message


def merge_refusal(representative: Person, merged: Person) -> MergeRefused | None:
    """Why B may not be merged into A, or None (SPEC 10.4)."""
    if representative.pk == merged.pk:
        return MergeRefused("same_person", "a person cannot be merged into itself")
    if representative.merged_into_id is not None:
        return MergeRefused(
            "already_merged",
            f"the representative {representative.integrated_number} is itself merged into "
            "another person; merge into that person instead",
            field="integrated_number",
        )
    if merged.merged_into_id is not None:
        return MergeRefused(
            "already_merged",
            f"{merged.integrated_number} is already merged into another person; unmerge it first",
        )
    if representative.has_individual_number and merged.has_individual_number:
        return MergeRefused(
            "different_individuals",
            "both persons hold an individual number: they are different individuals",
        )
    if merged.has_individual_number:
        return MergeRefused(
            "holder_must_be_representative",
            f"{merged.integrated_number} holds an individual number and "
            f"{representative.integrated_number} does not: the holder must be the "
            "representative (swap them)",
        )
    return None


def _links_of(person_ids: list[int]) -> list[tuple[int, str, str]]:
    return list(
        CrossReference.objects.filter(person_id__in=person_ids)
        .order_by("number_system", "address_number")
        .values_list("person_id", "number_system", "address_number")
    )


def person_merge(
    *,
    representative: Person,
    merged: Person,
    cause: str,
    by: str = SYSTEM_USER,
    reason: str = "",
    request: Any = None,
) -> PersonMerge:
    """Merge `merged` (B) into `representative` (A), or raise MergeRefused. Persons merged
    into B before follow it to A (and return to B with it on an unmerge)."""
    with transaction.atomic():
        locked = {
            person.pk: person
            for person in Person.objects.select_for_update(of=("self",)).filter(
                pk__in=[representative.pk, merged.pk]
            )
        }
        representative, merged = locked[representative.pk], locked[merged.pk]
        refusal = merge_refusal(representative, merged)
        if refusal is not None:
            raise refusal
        followers = list(Person.objects.filter(merged_into=merged).order_by("pk"))
        links = _links_of([merged.pk])
        record = PersonMerge.objects.create(
            representative=representative,
            merged=merged,
            cause=cause,
            reason=reason,
            links=[{"number_system": ns, "address_number": an} for _, ns, an in links],
            followers=[person.integrated_number for person in followers],
            merged_by=by,
        )
        Person.objects.filter(pk__in=[merged.pk, *(p.pk for p in followers)]).update(
            merged_into=representative
        )
        current = AddressVersion.objects.filter(person=merged, is_current=True).first()
        if current is not None:
            AddressVersion.objects.filter(pk=current.pk).update(is_current=False)
            record.merged_current_version = current
            record.save(update_fields=["merged_current_version"])
        merged.merged_into = representative
        if cause == PersonMerge.Cause.INDIVIDUAL_NUMBER:
            ReviewItem.objects.create(
                kind=ReviewItem.Kind.AUTOMATIC_MERGE,
                person=representative,
                other=merged,
                merge=record,
            )
        # Open suggestions about this pair are settled by the merge.
        ReviewItem.objects.filter(
            Q(person=representative, other=merged) | Q(person=merged, other=representative),
            kind=ReviewItem.Kind.POSSIBLE_DUPLICATE,
        ).exclude(state=ReviewItem.State.CLOSED).update(
            state=ReviewItem.State.CLOSED,
            outcome=ReviewItem.Outcome.MERGED,
            closed_by=by,
            updated_at=timezone.now(),
        )
        _notify(NoticeEvent.PERSON_MERGED, record, [representative.pk, merged.pk])
        _recorded(AccessAction.MERGE, record, by=by, request=request)
    return record


def person_unmerge(
    *, representative: Person, merged: Person, by: str, reason: str = "", request: Any = None
) -> PersonMerge:
    """Undo the open merge of `merged` into `representative`: B resolves to itself again,
    with exactly the links it had, and its followers return to it."""
    with transaction.atomic():
        record = (
            PersonMerge.objects.select_for_update()
            .filter(representative=representative, merged=merged, unmerged_at__isnull=True)
            .first()
        )
        if record is None:
            raise MergeRefused(
                "not_merged",
                f"{merged.integrated_number} is not merged into {representative.integrated_number}",
            )
        Person.objects.filter(pk=merged.pk).update(merged_into=None)
        if record.merged_current_version_id is not None:
            AddressVersion.objects.filter(pk=record.merged_current_version_id).update(
                is_current=True
            )
        Person.objects.filter(integrated_number__in=record.followers).update(merged_into=merged)
        merged.merged_into = None
        record.unmerged_at = timezone.now()
        record.unmerged_by = by
        record.unmerge_reason = reason
        record.save(update_fields=["unmerged_at", "unmerged_by", "unmerge_reason"])
        record.review_items.exclude(state=ReviewItem.State.CLOSED).update(
            state=ReviewItem.State.CLOSED,
            outcome=ReviewItem.Outcome.UNMERGED,
            closed_by=by,
            updated_at=timezone.now(),
        )
        _notify(NoticeEvent.PERSON_UNMERGED, record, [representative.pk, merged.pk])
        _recorded(AccessAction.UNMERGE, record, by=by, request=request)
    return record


def merge_payload(
    record: PersonMerge, number_system: str, representative_links: list[tuple[str, str]]
) -> dict[str, Any]:
    """What `person.merged` / `person.unmerged` tell one number system: the merged person's
    address numbers of that system (they resolve to the representative after a merge, to the
    merged person again after an unmerge) and the representative's, from its links
    `representative_links` ((number system, address number); docs/notices.md)."""
    return {
        "integrated_number": record.representative.integrated_number,
        "merged_integrated_number": record.merged.integrated_number,
        "number_system": number_system,
        "address_numbers": [
            link["address_number"]
            for link in record.links
            if link["number_system"] == number_system
        ],
        "representative_address_numbers": [
            address_number for ns, address_number in representative_links if ns == number_system
        ],
        "cause": record.cause,
        "merged_at": record.merged_at.isoformat(),
        "unmerged_at": record.unmerged_at.isoformat() if record.unmerged_at else None,
    }


def _notify(event: str, record: PersonMerge, person_ids: list[int]) -> None:
    follower_ids = list(
        Person.objects.filter(integrated_number__in=record.followers).values_list("pk", flat=True)
    )
    links = _links_of([*person_ids, *follower_ids])
    representative_links = [
        (ns, address_number)
        for person_id, ns, address_number in links
        if person_id == record.representative_id
    ]
    notices = [
        build(
            Notice,
            event=event,
            client_id=client.pk,
            person_id=record.representative_id,
            payload=merge_payload(record, number_system, representative_links),
        )
        for number_system, clients in receivers_by_number_system(
            sorted({ns for _, ns, _ in links})
        ).items()
        for client in clients
    ]
    insert(notices)
    if notices:
        notices_due.send(sender=Notice, notice_ids=[notice.pk for notice in notices])


def _recorded(action: str, record: PersonMerge, *, by: str, request: Any) -> None:
    access_record(
        action=action,
        outcome=AccessOutcome.OK,
        request=request,
        username=by if request is None else "",
        criteria={"cause": record.cause},
        integrated_numbers=[
            record.representative.integrated_number,
            record.merged.integrated_number,
        ],
        result_count=1,
    )
