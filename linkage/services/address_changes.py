"""Address changes (宛名異動データ, SPEC 7.1) as the write path takes them: validated and
normalised, and what an accepted one answers. `linkage.services.pipeline` stores them."""

from __future__ import annotations

import dataclasses
import datetime
import json
from dataclasses import dataclass, field
from typing import Any, Literal

import jaconv

from primitives.crypto import keyed_digest, legacy_digests
from primitives.text import name_spaces_normalise, spaces_normalise
from primitives.vocabulary import RecordStatus


class AddressChangeError(Exception):
    """An address change that cannot be accepted; `field` and `code` name the reason, and
    `status` the HTTP status the API answers with (a conflict with what is stored, or 400)."""

    field: str = ""
    code: str = ""
    status: int = 409

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class EventIdConflict(AddressChangeError):
    field = "event_id"
    code = "event_id_reused"


class AddressNumberConflict(AddressChangeError):
    field = "address_number"
    code = "address_number_taken"


class IntegratedNumberTaken(AddressChangeError):
    """A migration's integrated number held by another person."""

    field = "integrated_number"
    code = "integrated_number_taken"


class IntegratedNumberDiffers(AddressChangeError):
    """A migration gives a person a second integrated number: the old system numbered one
    person twice (a duplicate found at migration)."""

    field = "integrated_number"
    code = "integrated_number_differs"


class UnknownPerson(AddressChangeError):
    """`resolution.link` names no person that can take a link (SPEC 7.1)."""

    field = "resolution.integrated_number"
    code = "unknown_person"
    status = 400


class IndividualNumberMismatch(AddressChangeError):
    """`resolution.link` names a person holding another individual number (SPEC 7.1)."""

    field = "individual_number"
    code = "individual_number_mismatch"


def unknown_person(integrated_number: str, *, merged: bool = False) -> UnknownPerson:
    if merged:
        return UnknownPerson(
            f"integrated number {integrated_number} was merged into another person; "
            "link to its representative (GET /api/v1/persons/<integrated_number> names it)"
        )
    return UnknownPerson(f"no person has integrated number {integrated_number}")


def individual_number_mismatch(integrated_number: str) -> IndividualNumberMismatch:
    return IndividualNumberMismatch(
        f"the person {integrated_number} named in resolution holds a different individual "
        "number than the one sent: check the candidate, or send resolution new"
    )


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


def individual_number_not_replaced(
    number_system: str, address_number: str
) -> AddressNumberConflict:
    return AddressNumberConflict(
        f"address number {address_number} of number system {number_system} "
        "already belongs to another individual number; an individual number is never "
        "replaced by another"
    )


def integrated_number_taken(integrated_number: str) -> IntegratedNumberTaken:
    return IntegratedNumberTaken(
        f"integrated number {integrated_number} already belongs to another individual number; "
        "an existing number is kept for one person only"
    )


def integrated_number_differs(held: str, given: str) -> IntegratedNumberDiffers:
    return IntegratedNumberDiffers(
        f"this individual number already has integrated number {held}, not {given}: "
        "the existing system numbered one person twice"
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
class Resolution:
    """The sender's decision after a candidate search (SPEC 7.1, 10.2): `new`, or `link` to
    the person with `integrated_number`."""

    mode: Literal["new", "link"]
    integrated_number: str = ""


@dataclass(frozen=True)
class AddressChange:
    """宛名異動データ: one message from a backbone system, validated and normalised."""

    event_id: str
    number_system: str
    address_number: str
    individual_number: str  # "" when the sender does not know it (SPEC 7.1, 10)
    changed_at: datetime.datetime
    person: BasicItems
    business: BusinessData | None = None
    record_status: str = RecordStatus.ACTIVE
    # The number an existing 統合宛名 system gave the person (a migration's import only).
    integrated_number: str = ""
    resolution: Resolution | None = None
    # The name and kana in the form stored before names' spaces were normalised (SPEC 7.1),
    # when that form differs: a repeat of a change accepted then still matches its receipt.
    names_before: tuple[tuple[str, str], ...] = ()

    def digest(self) -> str:
        """A keyed digest of the normalised content, for comparing a repeated event_id.

        The content is `dataclasses.asdict(self)`, built shallowly: asdict deep-copies every
        value, which bulk imports would pay on every row for the same JSON."""
        return keyed_digest(self._canonical())

    def _canonical(self, person: BasicItems | None = None) -> bytes:
        content = {
            **vars(self),
            "person": vars(person or self.person),
            "business": vars(self.business) if self.business is not None else None,
            "resolution": vars(self.resolution) if self.resolution is not None else None,
        }
        # The defaults are left out: digests from before these fields stay as they were.
        if self.record_status == RecordStatus.ACTIVE:
            del content["record_status"]
        if not self.integrated_number:
            del content["integrated_number"]
        if self.resolution is None:
            del content["resolution"]
        del content["names_before"]
        return json.dumps(content, sort_keys=True, default=str, ensure_ascii=False).encode()

    def same_body_as(self, stored_digest: str, digest: str) -> bool:
        """Whether a stored receipt's digest is this change's: `digest` (under the records
        key), or a receipt from before AUDIT_LOG_KEY keyed the digests (under a blind-index
        key, which then keyed them)."""
        if stored_digest == digest or stored_digest in legacy_digests(self._canonical()):
            return True
        for name, name_kana in self.names_before:
            before = self._canonical(
                dataclasses.replace(self.person, name=name, name_kana=name_kana)
            )
            if stored_digest in (keyed_digest(before), *legacy_digests(before)):
                return True
        return False


def names_before(person: Any) -> tuple[tuple[str, str], ...]:
    """A sent person's name and kana as earlier releases stored them, each where it differs
    from how they are stored now: before names' spaces were normalised (trimmed; kana in full
    width), and before a name's kana with combining sound marks were composed (its spaces
    normalised; kana with such marks were refused then, so the kana is as now)."""
    if not isinstance(person, dict):
        return ()
    name = str(person.get("name") or "").strip()
    name_kana = jaconv.h2z(
        str(person.get("name_kana") or "").strip(), kana=True, ascii=False, digit=False
    )
    now = (name_spaces_normalise(name), name_spaces_normalise(name_kana))
    forms = [(name, name_kana), (spaces_normalise(name), now[1])]
    return tuple(dict.fromkeys(form for form in forms if form != now))


def address_change_of(data: dict[str, Any], *, sent: Any = None) -> AddressChange:
    """An AddressChange from validated values shaped like the API body (the serializer's
    validated data, or a bulk-import row checked by the same fields)."""
    business = data.get("business")
    resolution = data.get("resolution")
    return AddressChange(
        event_id=data["event_id"],
        number_system=data["number_system"],
        address_number=data["address_number"],
        individual_number=data.get("individual_number") or "",
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
        integrated_number=data.get("integrated_number", ""),
        resolution=Resolution(
            mode=resolution["mode"], integrated_number=resolution.get("integrated_number", "")
        )
        if resolution is not None
        else None,
        names_before=names_before(sent.get("person")) if isinstance(sent, dict) else (),
    )


@dataclass(frozen=True)
class AddressChangeResult:
    """What an accepted change answers (SPEC 7.1): the API shapes it into its HTTP answer, the
    receipt keeps it for a repeat of the same event id."""

    result: Literal["registered", "updated", "unchanged"]
    integrated_number: str
    number_system: str
    address_number: str
    history_seq: int
    code_request_status: str
    # How many candidates above the review threshold a new person without an individual
    # number has (SPEC 10.3); left out of the answer when not screened.
    possible_duplicates: int | None = None

    @property
    def registered(self) -> bool:
        return self.result == "registered"

    @property
    def body(self) -> dict[str, Any]:
        body = vars(self).copy()
        if self.possible_duplicates is None:
            del body["possible_duplicates"]
        return body

    @classmethod
    def of(cls, body: dict[str, Any]) -> AddressChangeResult:
        """The result a receipt stored (its `response`)."""
        return cls(**{name: body[name] for name in cls.__dataclass_fields__ if name in body})
