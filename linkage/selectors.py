"""Reads: every query the API and the screens share."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet

from .models import AddressVersion, CodeRequest, CodeRequestStatus, CrossReference, Person


@dataclass(frozen=True)
class PersonCurrent:
    """A person with its current version (宛名情報テーブル 33 as the seed's figure 3 shows it)."""

    person: Person
    version: AddressVersion
    links: list[CrossReference]
    code_request_status: str


def person_current_for_number_system(
    *, integrated_number: str, number_system: str
) -> PersonCurrent | None:
    """The person with this integrated number, if it is linked to the given number system."""
    person = (
        Person.objects.filter(
            integrated_number=integrated_number,
            pk__in=CrossReference.objects.filter(number_system=number_system).values("person_id"),
        )
        .select_related("code_request")
        .prefetch_related(
            Prefetch(
                "cross_references",
                queryset=CrossReference.objects.order_by("number_system", "address_number"),
            ),
        )
        .first()
    )
    if person is None:
        return None
    version = person.versions.order_by("-history_seq").first()
    if version is None:
        return None
    return PersonCurrent(
        person=person,
        version=version,
        links=list(person.cross_references.all()),
        code_request_status=code_request_status_of(person),
    )


def code_request_status_of(person: Person) -> str:
    try:
        return person.code_request.status
    except Person.code_request.RelatedObjectDoesNotExist:
        return CodeRequestStatus.NOT_REQUESTED


def code_requests_list() -> QuerySet[CodeRequest]:
    """Every code request with its person's integrated number, latest status change first."""
    return CodeRequest.objects.select_related("person").order_by("-status_changed_at", "-pk")


def code_requests_failed() -> QuerySet[CodeRequest]:
    """The error list (confirmation unit 42): failed code requests, newest failure first."""
    return code_requests_list().filter(status=CodeRequestStatus.ERROR)
