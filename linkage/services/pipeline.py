"""The one write path for address changes (seed units 36-39, flows F1 and F2).

The API stores a batch of one change, the bulk import batches of thousands; both go through
`changes_store`, in one transaction per batch, in four steps named for the seed's units:

- `determination` (36): one set-wise read of what is stored (receipts, persons, their newest
  versions and links) and a named `Decision` per change: `NewPerson`, `Update`, `Repeat` (the
  same event id and body were accepted before) or `Refused` (with its reason);
- `numbering` (37): integrated numbers for the batch's new persons, inserted set-wise;
- `storing` (39): the receipts, versions, links, link statuses and business items, set-wise;
- `after`: one `persons_numbered` signal for the batch, whose receiver opens the code requests
  (request, unit 38), and the notices to the linked business systems (S27, S120).

Races are settled by the database's constraints, each followed by a retry of the whole batch:
two first arrivals of one individual number (Person.individual_number_index: the retry finds
the winner's person, so one integrated number is issued), one event id stored twice at once
(receipt_event_unique: the retry replays the winner's answer), one address number claimed for
two persons at once (cross_reference_unique: the retry refuses it). Updates of one person are
serialised by a row lock on the person, taken by determination.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from primitives.crypto import (
    blind_index,
    blind_index_key_id,
    blind_indexes,
    encrypt_individual_number,
)
from primitives.vocabulary import NoticeEvent, RecordStatus

from ..events import notices_due, persons_numbered
from ..models import (
    AddressChangeReceipt,
    AddressVersion,
    BackboneClient,
    BusinessInformation,
    CodeRequestStatus,
    CrossReference,
    Notice,
    Person,
)
from ..selectors import code_request_status_of
from ..tables import build, insert
from .address_changes import (
    AddressChange,
    AddressChangeError,
    AddressChangeResult,
    BusinessData,
    address_number_conflict,
    event_id_conflict,
    integrated_number_differs,
    integrated_number_taken,
)
from .notices import basic_items_changed, link_data, receivers_by_number_system, update_data
from .numbering import (
    integrated_number_sequence_raise,
    integrated_number_serial,
    integrated_numbers_issue,
)
from .retention import PURGED_INDEX_PREFIX

logger = logging.getLogger(__name__)

# What a new person's code request records as its cause (the bulk import says so itself).
REGISTERED = "person_registered"
# How often a batch is retried after losing a race to a concurrent writer.
RACE_RETRIES = 3

Pair = tuple[str, str]  # (number system, address number)


@dataclass(frozen=True)
class Incoming:
    """A validated change as the pipeline takes it: where it came from (`line` of a file, 0
    for the API), who sent it (the receipt's client), its body digest and the blind index of
    its individual number under the newest key."""

    change: AddressChange
    client_id: int
    digest: str
    index: str
    line: int = 0

    @classmethod
    def of(cls, change: AddressChange, client: BackboneClient) -> Incoming:
        return cls(
            change=change,
            client_id=client.pk,
            digest=change.digest(),
            index=blind_index(change.individual_number),
        )


@dataclass
class PersonPlan:
    """What the batch knows of one individual number while determination walks the changes in
    order: the stored person (None until numbered), its newest version, its code request
    status and its links (number system -> address numbers)."""

    index: str
    individual_number: str
    person: Person | None
    history_seq: int
    latest: Any  # the newest basic items (a stored version's or the batch's), or None
    code_request_status: str
    links: dict[str, list[str]] = field(default_factory=dict)
    # Each number system's latest basic items, and the current business items by data type:
    # what a change must differ from to store anything (SPEC 7.1 "unchanged").
    latest_by_system: dict[str, Any] = field(default_factory=dict)
    business: dict[str, Any] = field(default_factory=dict)
    stores: int = 0  # how many of the batch's changes store a version of this person
    # The number an existing system gave a new person, kept instead of a new one (migration).
    kept_number: str = ""

    @property
    def integrated_number(self) -> str:
        """The person's integrated number as far as the batch knows it ("" until numbered)."""
        return self.person.integrated_number if self.person is not None else self.kept_number


@dataclass
class Decision:
    incoming: Incoming

    @property
    def change(self) -> AddressChange:
        return self.incoming.change


@dataclass
class Repeat(Decision):
    """The same event id with the same body was accepted before: answered as then. `answer`
    is None for a repeat within the batch itself (the bulk import only counts it)."""

    answer: AddressChangeResult | None


@dataclass
class Refused(Decision):
    error: AddressChangeError


@dataclass
class Unchanged(Decision):
    """A change that brings nothing new (SPEC 7.1): its address number is already the
    person's, its basic items equal that system's latest version and its business items the
    current ones. Its receipt is stored (a repeat is answered as it was); no version, no
    notice."""

    person: PersonPlan
    history_seq: int
    answer: AddressChangeResult | None = None  # once stored


@dataclass
class Store(Decision):
    """A change that stores a version: of a new person, or of a known one."""

    person: PersonPlan
    history_seq: int
    new_link: bool
    # Who hears of the new basic items (S120): number system -> the person's address numbers.
    notify: list[tuple[str, list[str]]]
    # Whether the version becomes the person's current basic items (SPEC 10.5).
    current: bool = True
    answer: AddressChangeResult | None = None  # once stored
    version: AddressVersion | None = None  # once stored


class NewPerson(Store):
    """The individual number is unknown: numbering issues an integrated number."""


class Update(Store):
    """A known person: a new version of its basic items."""


@dataclass
class Plan:
    decisions: list[Decision]
    persons: dict[str, PersonPlan]  # by blind index
    # Existing links whose record status a change moves, with the batch's last word on each.
    link_statuses: dict[Pair, str]
    numbered: list[Person] = field(default_factory=list)

    def stores(self) -> list[Store]:
        return [decision for decision in self.decisions if isinstance(decision, Store)]

    def unchanged(self) -> list[Unchanged]:
        return [decision for decision in self.decisions if isinstance(decision, Unchanged)]


# --- the entry points ------------------------------------------------------------------------


def address_change_receive(*, client: BackboneClient, change: AddressChange) -> AddressChangeResult:
    """Accept one address change (the API: a batch of one), or raise AddressChangeError having
    stored nothing. The first attempt does not look for an earlier receipt: repeats are rare
    and the receipt's unique constraint catches them; the retry then answers from it."""
    (decision,) = changes_store([Incoming.of(change, client)], cause=REGISTERED, first_try=True)
    if isinstance(decision, Refused):
        raise decision.error
    assert isinstance(decision, Repeat | Store | Unchanged) and decision.answer is not None  # noqa: S101
    return decision.answer


def changes_store(
    batch: Sequence[Incoming],
    *,
    cause: str,
    receivers: dict[str, list[BackboneClient]] | None = None,
    first_try: bool = False,
    immediate_constraints: bool = False,
) -> list[Decision]:
    """Decide and store a batch in one transaction; a Decision per change, in order.

    `receivers` caches the clients that take notices, per number system (the bulk import keeps
    them for a run). `first_try` skips the receipt lookup on the first attempt (see
    address_change_receive). `immediate_constraints` checks each foreign key as its row is
    written (PostgreSQL): a large batch otherwise queues thousands of deferred checks, and
    every history trigger's exception block rescans that queue, so a chunk's cost grew with
    its own size."""
    for attempt in range(1, RACE_RETRIES + 1):
        try:
            with transaction.atomic():
                if immediate_constraints and connection.vendor == "postgresql":
                    with connection.cursor() as cursor:
                        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                plan = determination(batch, check_receipts=attempt > 1 or not first_try)
                numbering(plan)
                storing(plan)
                after(plan, cause=cause, receivers=receivers)
                return plan.decisions
        except IntegrityError:
            if attempt == RACE_RETRIES:
                raise
            logger.info("a batch of address changes met a unique constraint; retrying")
    raise AssertionError("unreachable")


# --- determination (36) ----------------------------------------------------------------------


def determination(batch: Sequence[Incoming], *, check_receipts: bool = True) -> Plan:
    fresh = _repeats_decide(batch) if check_receipts else {}
    accepted = [incoming for position, incoming in enumerate(batch) if position not in fresh]
    persons, owners, ended = _stored_read(accepted)
    if _returning_numbers_attach(accepted, persons, owners):
        persons, owners, ended = _stored_read(accepted)

    holders = _kept_numbers_read(accepted)
    link_statuses: dict[Pair, str] = {}
    decisions: list[Decision] = []
    for position, incoming in enumerate(batch):
        if position in fresh:
            decisions.append(fresh[position])
            continue
        change = incoming.change
        state = persons[incoming.index]
        pair = (change.number_system, change.address_number)
        owner = owners.get(pair)
        if owner is not None and owner != incoming.index:
            error = address_number_conflict(change.number_system, change.address_number)
            decisions.append(Refused(incoming, error))
            continue
        if change.integrated_number and (refusal := _number_kept(state, change, holders)):
            decisions.append(Refused(incoming, refusal))
            continue
        new_link = owner is None
        owners[pair] = incoming.index
        ends = change.record_status == RecordStatus.ENDED
        moves_status = not new_link and (pair in ended) != ends
        if not new_link and not moves_status and _brings_nothing_new(state, change):
            decisions.append(Unchanged(incoming, state, state.history_seq))
            continue
        if moves_status:
            link_statuses[pair] = change.record_status
        (ended.add if ends else ended.discard)(pair)
        if new_link:
            state.links.setdefault(change.number_system, []).append(change.address_number)
        current = _becomes_current(state, change)
        notify = (
            [
                (number_system, list(address_numbers))
                for number_system, address_numbers in sorted(state.links.items())
                if number_system != change.number_system
            ]
            if current and basic_items_changed(state.latest, change.person)
            else []
        )
        kind = NewPerson if state.person is None and not state.stores else Update
        state.stores += 1
        state.history_seq += 1
        if current:
            state.latest = change.person
        state.latest_by_system[change.number_system] = change.person
        if change.business is not None:
            state.business[change.business.data_type] = change.business.items
        decisions.append(kind(incoming, state, state.history_seq, new_link, notify, current))
    return Plan(decisions=decisions, persons=persons, link_statuses=link_statuses)


def _becomes_current(state: PersonPlan, change: AddressChange) -> bool:
    """SPEC 10.5: a person linked to a system of CURRENT_ITEMS_PRECEDENCE has the basic items
    the first such system sent last as current; another's version is history only. Any other
    person's newest version is current."""
    for number_system in settings.CURRENT_ITEMS_PRECEDENCE:
        if number_system in state.links:
            return change.number_system == number_system
    return True


def _brings_nothing_new(state: PersonPlan, change: AddressChange) -> bool:
    """Whether a change on one of the person's own links equals what its system last sent:
    the basic items (normalised as stored) and, if it carries them, the business items."""
    latest = state.latest_by_system.get(change.number_system)
    if latest is None or basic_items_changed(latest, change.person):
        return False
    business = change.business
    return business is None or state.business.get(business.data_type) == business.items


def _kept_numbers_read(batch: Sequence[Incoming]) -> dict[str, str]:
    """The persons holding the integrated numbers a migration's changes bring: number -> the
    holder's blind index."""
    given = {incoming.change.integrated_number for incoming in batch} - {""}
    if not given:
        return {}
    return dict(
        Person.objects.filter(integrated_number__in=given).values_list(
            "integrated_number", "individual_number_index"
        )
    )


def _number_kept(
    state: PersonPlan, change: AddressChange, holders: dict[str, str]
) -> AddressChangeError | None:
    """A migration's change brings the integrated number an existing system gave the person
    (JP standard §2.4.6): kept for a new person, the same for a known one; refused when
    another person holds it or the person already has another (a duplicate found at
    migration)."""
    given = change.integrated_number
    held = state.integrated_number
    if held:
        return integrated_number_differs(held, given) if held != given else None
    holder = holders.get(given)
    if holder is not None and holder != state.index:
        return integrated_number_taken(given)
    state.kept_number = given
    holders[given] = state.index
    return None


def _repeats_decide(batch: Sequence[Incoming]) -> dict[int, Decision]:
    """Changes already stored (same event id and body: a repeat, answered as before) or
    conflicting with a stored one or an earlier one of the batch (same event id, another body:
    refused), by position in the batch."""
    wanted = Q()
    for number_system in {incoming.change.number_system for incoming in batch}:
        wanted |= Q(
            number_system=number_system,
            event_id__in=[
                incoming.change.event_id
                for incoming in batch
                if incoming.change.number_system == number_system
            ],
        )
    stored: dict[tuple[str, str], tuple[str, AddressChangeResult | None]] = {
        (number_system, event_id): (digest, AddressChangeResult.of(response))
        for number_system, event_id, digest, response in AddressChangeReceipt.objects.filter(
            wanted
        ).values_list("number_system", "event_id", "body_digest", "response")
    }
    decided: dict[int, Decision] = {}
    for position, incoming in enumerate(batch):
        key = (incoming.change.number_system, incoming.change.event_id)
        earlier = stored.get(key)
        if earlier is None:
            stored[key] = (incoming.digest, None)
        elif incoming.change.same_body_as(earlier[0], incoming.digest):
            decided[position] = Repeat(incoming, earlier[1])
        else:
            decided[position] = Refused(incoming, event_id_conflict())
    return decided


def _stored_read(
    batch: Sequence[Incoming],
) -> tuple[dict[str, PersonPlan], dict[Pair, str], set[Pair]]:
    """What is stored of the batch's persons and address numbers, in three reads: the persons
    (locked), their versions, and the links of those persons or of the batch's address
    numbers. Returns the persons by blind index, the owner of each link (the blind index of its
    person, or PURGED_INDEX_PREFIX + pk for a person whose number was purged) and the ended
    links."""
    numbers = {incoming.index: incoming.change.individual_number for incoming in batch}
    # A blind-index rotation may be under way: persons still indexed under an older key are
    # found by that key's index (computed only while there is more than one key).
    newest_of = {index: index for index in numbers}
    for index, number in numbers.items():
        for older in blind_indexes(number)[1:]:
            newest_of[older] = index
    persons = {
        newest_of[person.individual_number_index]: person
        for person in Person.objects.select_for_update(of=("self",))
        .select_related("code_request")
        .filter(individual_number_index__in=newest_of)
    }
    # Every version of these persons, the newest kept: driven by the index on person_id. (A
    # "history_seq = newest" subquery made PostgreSQL scan the whole version table.)
    latest: dict[int, AddressVersion] = {}
    by_system: dict[int, dict[str, AddressVersion]] = {}
    current_of: dict[int, AddressVersion] = {}
    if persons:
        for version in AddressVersion.objects.filter(
            person_id__in=[person.pk for person in persons.values()]
        ).only(
            "person_id",
            "history_seq",
            "number_system",
            "name",
            "name_kana",
            "birth_date",
            "sex",
            "address",
            "is_current",
        ):
            known = latest.get(version.person_id)
            if known is None or known.history_seq < version.history_seq:
                latest[version.person_id] = version
            if version.is_current:
                current_of[version.person_id] = version
            systems = by_system.setdefault(version.person_id, {})
            known = systems.get(version.number_system)
            if known is None or known.history_seq < version.history_seq:
                systems[version.number_system] = version
    business = _current_business_read(batch, persons)

    wanted = Q(person_id__in=[person.pk for person in persons.values()]) if persons else Q()
    for number_system in {incoming.change.number_system for incoming in batch}:
        wanted |= Q(
            number_system=number_system,
            address_number__in=[
                incoming.change.address_number
                for incoming in batch
                if incoming.change.number_system == number_system
            ],
        )
    links: dict[int, dict[str, list[str]]] = {}
    owners: dict[Pair, str] = {}
    ended: set[Pair] = set()
    for number_system, address_number, person_id, index, status in (
        CrossReference.objects.filter(wanted)
        .order_by("number_system", "address_number")
        .values_list(
            "number_system",
            "address_number",
            "person_id",
            "person__individual_number_index",
            "record_status",
        )
    ):
        pair = (number_system, address_number)
        owners[pair] = newest_of.get(index, index)
        if status == RecordStatus.ENDED:
            ended.add(pair)
        links.setdefault(person_id, {}).setdefault(number_system, []).append(address_number)

    states: dict[str, PersonPlan] = {}
    for index, number in numbers.items():
        person = persons.get(index)
        newest = latest.get(person.pk) if person is not None else None
        states[index] = PersonPlan(
            index=index,
            individual_number=number,
            person=person,
            history_seq=newest.history_seq if newest is not None else 0,
            # The current basic items, what a new version is compared with (S120).
            latest=current_of.get(person.pk, newest) if person is not None else None,
            code_request_status=(
                code_request_status_of(person)
                if person is not None
                else CodeRequestStatus.REQUESTING
            ),
            links=links.get(person.pk, {}) if person is not None else {},
            latest_by_system=dict(by_system.get(person.pk, {})) if person is not None else {},
            business=business.get(person.pk, {}) if person is not None else {},
        )
    return states, owners, ended


def _current_business_read(
    batch: Sequence[Incoming], persons: dict[str, Person]
) -> dict[int, dict[str, Any]]:
    """The current business items by data type (the newest of each) of the stored persons
    whose changes in the batch carry business items: person id -> data type -> items."""
    wanted = {
        persons[incoming.index].pk
        for incoming in batch
        if incoming.change.business is not None and incoming.index in persons
    }
    current: dict[int, dict[str, Any]] = {}
    if wanted:
        for person_id, data_type, items in (
            BusinessInformation.objects.filter(person_id__in=wanted)
            .order_by("pk")
            .values_list("person_id", "data_type", "items")
        ):
            current.setdefault(person_id, {})[data_type] = items  # the newest last
    return current


def _returning_numbers_attach(
    batch: Sequence[Incoming], persons: dict[str, PersonPlan], owners: dict[Pair, str]
) -> bool:
    """A change on the link of a person whose number was purged, with a number nobody holds:
    the same person returns, and gets its number attached again (SPEC 10.1). Once per number;
    whether anything was attached."""
    attached: set[str] = set()
    for incoming in batch:
        owner = owners.get((incoming.change.number_system, incoming.change.address_number), "")
        purged = owner.startswith(PURGED_INDEX_PREFIX)
        if purged and persons[incoming.index].person is None and incoming.index not in attached:
            person = Person.objects.get(pk=int(owner.removeprefix(PURGED_INDEX_PREFIX)))
            individual_number_reattach(person, incoming.change.individual_number)
            attached.add(incoming.index)
    return bool(attached)


def individual_number_reattach(person: Person, individual_number: str) -> Person:
    """Give a purged person its individual number again (encrypted, blind-indexed), when it
    returns on one of its links. Its code was requested once already: nothing is requested
    again (claim 2)."""
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


# --- numbering (37) --------------------------------------------------------------------------


def numbering(plan: Plan) -> None:
    """Integrated numbers for the persons new in this batch, in the order they first appear;
    the number is encrypted and indexed once per person."""
    new = [decision.person for decision in plan.decisions if isinstance(decision, NewPerson)]
    if not new:
        return
    kept = [state.kept_number for state in new if state.kept_number]
    if kept:
        # A migration's numbers are kept; the sequence continues above them.
        integrated_number_sequence_raise(max(integrated_number_serial(n) for n in kept))
    issued = iter(integrated_numbers_issue(len(new) - len(kept)))
    persons = [
        build(
            Person,
            integrated_number=state.kept_number or next(issued),
            individual_number_index=state.index,
            individual_number_encrypted=encrypt_individual_number(
                state.individual_number, index=state.index
            ),
        )
        for state in new
    ]
    insert(persons)
    for state, person in zip(new, persons, strict=True):
        state.person = person
    plan.numbered = persons


# --- storing (39) ----------------------------------------------------------------------------


def answer_of(decision: Store | Unchanged) -> AddressChangeResult:
    """What a stored or unchanged change answers (and its receipt keeps)."""
    person = decision.person.person
    assert person is not None  # noqa: S101 (numbered before storing)
    if isinstance(decision, Unchanged):
        result: Literal["registered", "updated", "unchanged"] = "unchanged"
    else:
        result = "registered" if isinstance(decision, NewPerson) else "updated"
    return AddressChangeResult(
        result=result,
        integrated_number=person.integrated_number,
        number_system=decision.change.number_system,
        address_number=decision.change.address_number,
        history_seq=decision.history_seq,
        code_request_status=decision.person.code_request_status,
    )


def _receipt(decision: Store | Unchanged) -> AddressChangeReceipt:
    """The receipt of a stored or unchanged change, with its answer (set on the decision)."""
    decision.answer = answer = answer_of(decision)
    return build(
        AddressChangeReceipt,
        client_id=decision.incoming.client_id,
        person_id=decision.person.person.pk if decision.person.person else None,
        number_system=decision.change.number_system,
        event_id=decision.change.event_id,
        body_digest=decision.incoming.digest,
        status_code=201 if answer.registered else 200,
        response=answer.body,
    )


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


def business_values(business: BusinessData, number_system: str) -> dict[str, Any]:
    """BusinessInformation's columns besides its person and version."""
    return {
        "number_system": number_system,
        "data_type": business.data_type,
        "confirmed_at": business.confirmed_at,
        "items": business.items,
    }


def storing(plan: Plan) -> None:
    """The receipt and the new version of every stored change, the new links, the moved link
    statuses and the business items: one set-wise insert per table."""
    stores = plan.stores()
    # The stored changes' receipts first: the versions below are zipped with them.
    answered: list[Store | Unchanged] = [*stores, *plan.unchanged()]
    receipts = [_receipt(decision) for decision in answered]
    insert(receipts)  # gives them ids before the versions below refer to them

    versions: list[AddressVersion] = []
    newest: dict[int, AddressVersion] = {}
    for decision, receipt in zip(stores, receipts[: len(stores)], strict=True):
        version = build(
            AddressVersion,
            person_id=receipt.person_id,
            history_seq=decision.history_seq,
            receipt_id=receipt.pk,
            **version_values(decision.change),
        )
        version.search_keys_fill()
        version.is_current = False
        if decision.current:
            newest[version.person_id] = version
        decision.version = version
        versions.append(version)
    for version in newest.values():
        version.is_current = True
    # The persons stored before this batch with a new current version: their current
    # versions are superseded.
    AddressVersion.objects.supersede(
        sorted(
            state.person.pk
            for state in plan.persons.values()
            if state.person is not None
            and state.history_seq > state.stores > 0
            and state.person.pk in newest
        )
    )
    insert(versions)  # gives them ids before the business rows below refer to them

    now = timezone.now()
    insert(
        [
            build(
                CrossReference,
                number_system=decision.change.number_system,
                address_number=decision.change.address_number,
                person_id=decision.version.person_id,
                record_status=decision.change.record_status,
                ended_at=now if decision.change.record_status == RecordStatus.ENDED else None,
            )
            for decision in stores
            if decision.new_link and decision.version is not None
        ]
    )
    link_statuses_apply(plan.link_statuses)
    insert(
        [
            build(
                BusinessInformation,
                person_id=decision.version.person_id,
                address_version_id=decision.version.pk,
                **business_values(decision.change.business, decision.change.number_system),
            )
            for decision in stores
            if decision.change.business is not None and decision.version is not None
        ]
    )


def link_statuses_apply(statuses: dict[Pair, str]) -> None:
    """Set existing links' record status where a change says it is now other than it was
    ((number system, address number) -> status); one statement per status."""
    for status in (RecordStatus.ACTIVE, RecordStatus.ENDED):
        wanted = [pair for pair, moved_to in statuses.items() if moved_to == status]
        if not wanted:
            continue
        pairs = Q()
        for number_system, address_number in wanted:
            pairs |= Q(number_system=number_system, address_number=address_number)
        CrossReference.objects.filter(pairs).exclude(record_status=status).update(
            record_status=status, ended_at=timezone.now() if status == RecordStatus.ENDED else None
        )


# --- after: the code requests (38) and the notices -------------------------------------------


def after(
    plan: Plan, *, cause: str, receivers: dict[str, list[BackboneClient]] | None = None
) -> None:
    """The batch's newly numbered persons are announced once (the persons_numbered receiver
    opens their code requests, claim 2), and the notices of the whole batch are written:
    integrated_number.assigned for each new link (S27), address.updated to every other linked
    system when the basic items changed (S120). Each notice is sent after commit."""
    if plan.numbered:
        persons_numbered.send(sender=Person, persons=plan.numbered, cause=cause)
    stores = plan.stores()
    wanted = {
        number_system
        for decision in stores
        for number_system in ([decision.change.number_system] if decision.new_link else [])
        + [number_system for number_system, _ in decision.notify]
    }
    if not wanted:
        return
    if receivers is None:
        receivers = {}
    missing = wanted - receivers.keys()
    if missing:
        receivers.update(receivers_by_number_system(missing))
    notices: list[Notice] = []
    for decision in stores:
        person, version, change = decision.person.person, decision.version, decision.change
        assert person is not None and version is not None  # noqa: S101 (stored above)
        if decision.new_link:
            notices += _notices(
                NoticeEvent.INTEGRATED_NUMBER_ASSIGNED,
                person,
                receivers[change.number_system],
                link_data(person, change.number_system, change.address_number),
            )
        for number_system, address_numbers in decision.notify:
            notices += _notices(
                NoticeEvent.ADDRESS_UPDATED,
                person,
                receivers[number_system],
                update_data(person, version, number_system, address_numbers),
            )
    insert(notices)
    if notices:
        notices_due.send(sender=Notice, notice_ids=[notice.pk for notice in notices])


def _notices(
    event: str, person: Person, clients: list[BackboneClient], payload: dict[str, Any]
) -> list[Notice]:
    return [
        build(Notice, event=event, client_id=client.pk, person_id=person.pk, payload=payload)
        for client in clients
    ]
