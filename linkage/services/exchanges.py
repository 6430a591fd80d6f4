"""What the copies (副本登録) and the inquiries (情報照会) of SPEC 11 share: the person a
business system's address number names, who must have an individual number (and so, once
acquired, a code), and the refusals the API answers with."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ..models import CodeRequestStatus, CrossReference, Person
from ..selectors import code_request_status_of


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
