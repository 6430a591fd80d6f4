"""Receiving address changes (seed units 35-39, flows F1 and F2).

`address_change_receive` is the one entry point: determination (36), numbering (37), storing
(39), the code request row (38, through the persons_numbered signal) and the notices to the linked
business systems (S27, S120), in one transaction.
"""

from __future__ import annotations

import datetime
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Literal

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from ..crypto import (
    blind_index,
    blind_index_key_id,
    blind_indexes,
    encrypt_individual_number,
    keyed_digest,
    legacy_digests,
)
from ..events import persons_numbered
from ..models import (
    AddressChangeReceipt,
    AddressVersion,
    BackboneClient,
    BusinessInformation,
    CrossReference,
    Person,
    RecordStatus,
)
from ..selectors import code_request_status_of
from .notices import notices_for_link, notices_for_update
from .numbering import integrated_number_issue

logger = logging.getLogger(__name__)

# What a new person's code request records as its cause (the bulk import says so itself).
REGISTERED = "person_registered"
# How often a request is retried after losing a race to a concurrent one (see below).
RACE_RETRIES = 3


class AddressChangeError(Exception):
    """An address change that cannot be accepted; `field` and `code` name the reason."""

    field: str = ""
    code: str = ""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class EventIdConflict(AddressChangeError):
    field = "event_id"
    code = "event_id_reused"


class AddressNumberConflict(AddressChangeError):
    field = "address_number"
    code = "address_number_taken"


def event_id_conflict() -> EventIdConflict:
    return EventIdConflict(
        "this event_id was already accepted with a different body; "
        "send a new event_id for a new change"
    )


def address_number_conflict(number_system: str, address_number: str) -> AddressNumberConflict:
    return AddressNumberConflict(
        f"address number {address_number} of number system {number_system} "
        "already belongs to another individual number"
    )


@dataclass(frozen=True)
class BasicItems:
    """基本4情報 and the kana reading, already validated and normalised."""

    name: str
    birth_date: datetime.date
    sex: str
    address: str
    name_kana: str = ""


@dataclass(frozen=True)
class BusinessData:
    data_type: str
    confirmed_at: datetime.datetime | None = None
    items: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AddressChange:
    """宛名異動データ: one message from a backbone system, validated and normalised."""

    event_id: str
    number_system: str
    address_number: str
    individual_number: str
    changed_at: datetime.datetime
    person: BasicItems
    business: BusinessData | None = None
    record_status: str = RecordStatus.ACTIVE

    def digest(self) -> str:
        """A keyed digest of the normalised content, for comparing a repeated event_id.

        The content is `dataclasses.asdict(self)`, built shallowly: asdict deep-copies every
        value, which bulk imports would pay on every row for the same JSON."""
        return keyed_digest(self._canonical())

    def _canonical(self) -> bytes:
        content = {
            **vars(self),
            "person": vars(self.person),
            "business": vars(self.business) if self.business is not None else None,
        }
        if self.record_status == RecordStatus.ACTIVE:
            del content["record_status"]  # the default: digests from before the field stay
        return json.dumps(content, sort_keys=True, default=str, ensure_ascii=False).encode()

    def same_body_as(self, stored_digest: str, digest: str) -> bool:
        """Whether a stored receipt's digest is this change's: `digest` (under the records
        key), or a receipt from before AUDIT_LOG_KEY keyed the digests (under a blind-index
        key, which then keyed them)."""
        return stored_digest == digest or stored_digest in legacy_digests(self._canonical())


def address_change_of(data: dict[str, Any]) -> AddressChange:
    """An AddressChange from validated values shaped like the API body (the serializer's
    validated data, or a bulk-import row checked by the same fields)."""
    business = data.get("business")
    return AddressChange(
        event_id=data["event_id"],
        number_system=data["number_system"],
        address_number=data["address_number"],
        individual_number=data["individual_number"],
        changed_at=data["changed_at"],
        person=BasicItems(**data["person"]),
        business=BusinessData(
            data_type=business["data_type"],
            confirmed_at=business.get("confirmed_at"),
            items=business.get("items", {}),
        )
        if business is not None
        else None,
        record_status=data.get("record_status") or RecordStatus.ACTIVE,
    )


@dataclass(frozen=True)
class AddressChangeResult:
    status_code: int
    body: dict[str, Any]

    @property
    def result(self) -> Literal["registered", "updated"]:
        return self.body["result"]


# What an accepted change stores and answers: one mapping for the API and the bulk import,
# which must store the same rows (tests/linkage/bulk/test_import.py compares them).


def answer_of(
    change: AddressChange,
    *,
    integrated_number: str,
    history_seq: int,
    registered: bool,
    code_request_status: str,
) -> AddressChangeResult:
    return AddressChangeResult(
        status_code=201 if registered else 200,
        body={
            "result": "registered" if registered else "updated",
            "integrated_number": integrated_number,
            "number_system": change.number_system,
            "address_number": change.address_number,
            "history_seq": history_seq,
            "code_request_status": code_request_status,
        },
    )


def receipt_values(
    change: AddressChange, digest: str, result: AddressChangeResult
) -> dict[str, Any]:
    """AddressChangeReceipt's columns besides its client and person."""
    return {
        "number_system": change.number_system,
        "event_id": change.event_id,
        "body_digest": digest,
        "status_code": result.status_code,
        "response": result.body,
    }


def version_values(change: AddressChange) -> dict[str, Any]:
    """AddressVersion's columns besides its person, history_seq and receipt."""
    return {
        "number_system": change.number_system,
        "address_number": change.address_number,
        "name": change.person.name,
        "name_kana": change.person.name_kana,
        "birth_date": change.person.birth_date,
        "sex": change.person.sex,
        "address": change.person.address,
        "changed_at": change.changed_at,
    }


def link_values(change: AddressChange) -> dict[str, Any]:
    """CrossReference's record status columns as the change sets them (SPEC 7.1)."""
    ended = change.record_status == RecordStatus.ENDED
    return {"record_status": change.record_status, "ended_at": timezone.now() if ended else None}


def link_statuses_apply(statuses: dict[tuple[str, str], dict[str, Any]]) -> None:
    """Set existing links' record status where a change says it is now other than it was
    ((number system, address number) -> link_values); one statement per status."""
    for status in (RecordStatus.ACTIVE, RecordStatus.ENDED):
        wanted = [pair for pair, values in statuses.items() if values["record_status"] == status]
        if not wanted:
            continue
        pairs = Q()
        for number_system, address_number in wanted:
            pairs |= Q(number_system=number_system, address_number=address_number)
        CrossReference.objects.filter(pairs).exclude(record_status=status).update(
            record_status=status, ended_at=timezone.now() if status == RecordStatus.ENDED else None
        )


def business_values(business: BusinessData, number_system: str) -> dict[str, Any]:
    """BusinessInformation's columns besides its person and version."""
    return {
        "number_system": number_system,
        "data_type": business.data_type,
        "confirmed_at": business.confirmed_at,
        "items": business.items,
    }


def address_change_receive(*, client: BackboneClient, change: AddressChange) -> AddressChangeResult:
    """Accept one address change, or raise AddressChangeError having stored nothing.

    Races prevented, each by a unique constraint and a retry of the whole transaction:
    two first arrivals of one individual number (Person.individual_number_index: the loser
    retries and finds the winner's person, so one integrated number is issued), one event_id
    sent twice at once (receipt_event_unique: the loser replays the winner's answer), and
    one address number claimed for two persons at once (cross_reference_unique: the loser
    gets the conflict). Updates of one person are serialised by a row lock on the person.

    The first attempt does not look for an earlier receipt: repeats are rare and the
    receipt's unique constraint catches them; the retry then answers from the receipt.
    """
    digest = change.digest()
    for attempt in range(1, RACE_RETRIES + 1):
        try:
            return _receive_once(
                client=client, change=change, digest=digest, check_receipt=attempt > 1
            )
        except IntegrityError:
            if attempt == RACE_RETRIES:
                raise
            logger.info("address change met a unique constraint; retrying (attempt %d)", attempt)
    raise AssertionError("unreachable")


def _replay(change: AddressChange, digest: str) -> AddressChangeResult | None:
    previous = AddressChangeReceipt.objects.filter(
        number_system=change.number_system, event_id=change.event_id
    ).first()
    if previous is None:
        return None
    if not change.same_body_as(previous.body_digest, digest):
        raise event_id_conflict()
    return AddressChangeResult(status_code=previous.status_code, body=previous.response)


@transaction.atomic
def _receive_once(
    *, client: BackboneClient, change: AddressChange, digest: str, check_receipt: bool
) -> AddressChangeResult:
    if check_receipt and (replayed := _replay(change, digest)) is not None:
        return replayed

    index = blind_index(change.individual_number)
    # Determination (36). The lock (on the person row only) serialises updates of one person.
    # Every configured key's index is looked up: a blind-index rotation may be under way.
    person = (
        Person.objects.select_for_update(of=("self",))
        .select_related("code_request")
        .filter(individual_number_index__in=blind_indexes(change.individual_number))
        .first()
    )

    cross_reference = (
        CrossReference.objects.select_related("person")
        .filter(number_system=change.number_system, address_number=change.address_number)
        .first()
    )
    if cross_reference is not None and person is None and cross_reference.person.purged_at:
        # The linked person's number was purged after the retention period; the same person
        # arrives again with it: the number is attached again (SPEC 10.1).
        person = individual_number_reattach(cross_reference.person, change.individual_number)
    if cross_reference is not None and (person is None or cross_reference.person_id != person.pk):
        raise address_number_conflict(change.number_system, change.address_number)

    registered = person is None
    if person is None:
        # Numbering (37); the persons_numbered receiver opens the code request (claim 2).
        person = Person.objects.create(
            integrated_number=integrated_number_issue(),
            individual_number_index=index,
            individual_number_encrypted=encrypt_individual_number(
                change.individual_number, index=index
            ),
        )
        persons_numbered.send(sender=Person, persons=[person], cause=REGISTERED)
        previous = None
        history_seq = 1
    else:
        previous = person.versions.order_by("-history_seq").first()
        history_seq = previous.history_seq + 1 if previous is not None else 1

    result = answer_of(
        change,
        integrated_number=person.integrated_number,
        history_seq=history_seq,
        registered=registered,
        code_request_status=code_request_status_of(person),
    )

    # Storing (39): the receipt, the new version, the cross-reference, the business items.
    receipt = AddressChangeReceipt.objects.create(
        client=client, person=person, **receipt_values(change, digest, result)
    )
    if previous is not None:
        AddressVersion.objects.supersede([person.pk])
    version = AddressVersion.objects.create(
        person=person, history_seq=history_seq, receipt=receipt, **version_values(change)
    )
    if cross_reference is None:
        CrossReference.objects.create(
            number_system=change.number_system,
            address_number=change.address_number,
            person=person,
            **link_values(change),
        )
        notices_for_link(
            person=person, number_system=change.number_system, address_number=change.address_number
        )
    elif cross_reference.record_status != change.record_status:
        link_statuses_apply({(change.number_system, change.address_number): link_values(change)})
    notices_for_update(person=person, version=version, previous=previous)
    if change.business is not None:
        BusinessInformation.objects.create(
            person=person,
            address_version=version,
            **business_values(change.business, change.number_system),
        )
    return result


def individual_number_reattach(person: Person, individual_number: str) -> Person:
    """Give a purged person its individual number again (encrypted, blind-indexed): the API
    and the bulk import, when the person returns on one of its links. Its code was requested
    once already: nothing is requested again (claim 2)."""
    locked = Person.objects.select_for_update(of=("self",)).select_related("code_request")
    person = locked.get(pk=person.pk)
    index = blind_index(individual_number)
    person.individual_number_index = index
    person.individual_number_encrypted = encrypt_individual_number(individual_number, index=index)
    person.individual_number_index_key = blind_index_key_id()
    person.individual_number_last4 = ""
    person.purged_at = None
    # The unique index settles a race with a concurrent first arrival of the same number.
    person.save(
        update_fields=[
            "individual_number_index",
            "individual_number_encrypted",
            "individual_number_index_key",
            "individual_number_last4",
            "purged_at",
        ]
    )
    return person
