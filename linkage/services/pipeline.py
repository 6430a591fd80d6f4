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
from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, Literal

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from psycopg import errors as psycopg_errors

from primitives.crypto import (
    blind_index,
    blind_index_key_id,
    blind_indexes,
    encrypt_individual_number,
)
from primitives.vocabulary import NoticeEvent, RecordStatus

from ..compiled import compiled
from ..events import notices_due, persons_numbered
from ..matching.search import candidates_find
from ..models import (
    AddressChangeReceipt,
    AddressVersion,
    BackboneClient,
    BusinessInformation,
    CodeRequest,
    CodeRequestStatus,
    CodeRequestTransition,
    CrossReference,
    Notice,
    Person,
    PersonMerge,
    ReviewItem,
    ScreeningDue,
)
from ..selectors import code_request_status_of
from ..tables import Drawn, build, flush, gathered, insert, reserve
from .address_changes import (
    AddressChange,
    AddressChangeError,
    AddressChangeResult,
    BasicItems,
    BusinessData,
    event_id_conflict,
    individual_number_mismatch,
    individual_number_not_replaced,
    integrated_number_differs,
    integrated_number_taken,
    unknown_person,
)
from .merges import person_merge
from .notices import basic_items_changed, link_data, receivers_by_number_system, update_data
from .numbering import (
    SEQUENCE_NAME,
    integrated_number_sequence_raise,
    integrated_number_serial,
    integrated_numbers_issue,
)
from .screening import possible_duplicate

logger = logging.getLogger(__name__)

# What a new person's code request records as its cause (the bulk import says so itself).
REGISTERED = "person_registered"
# How often a batch is retried after losing a race to a concurrent writer.
RACE_RETRIES = 3

Pair = tuple[str, str]  # (number system, address number)
# PersonPlan keys: a stored person's, and a new person's without an individual number.
STORED = "pk:"
NEW_WITHOUT_NUMBER = "new:"


@dataclass(frozen=True)
class Incoming:
    """A validated change as the pipeline takes it: where it came from (`line` of a file, 0
    for the API), who sent it (the receipt's client), its body digest and the blind index of
    its individual number under the newest key ("" when it carries none)."""

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
            index=blind_index(change.individual_number) if change.individual_number else "",
        )


@dataclass
class PersonPlan:
    """What the batch knows of one person while determination walks the changes in order.

    `key` names it in the batch: `pk:<id>` for a stored person, the blind index for a new
    person with an individual number, `new:<number system>:<address number>` for a new one
    without. `holds_number`: the person has an individual number (stored, new or attached by
    this batch); `index` and `individual_number` are set when this batch brings it."""

    key: str
    person: Person | None
    holds_number: bool
    index: str = ""
    individual_number: str = ""
    history_seq: int = 0
    latest: BasicItems | None = None  # the current basic items (stored or the batch's)
    code_request_status: str = CodeRequestStatus.NOT_REQUESTED
    links: dict[str, list[str]] = field(default_factory=dict)  # number system -> numbers
    # Each number system's latest basic items, and the current business items by data type:
    # what a change must differ from to store anything (SPEC 7.1 "unchanged").
    latest_by_system: dict[str, BasicItems] = field(default_factory=dict)
    business: dict[str, Any] = field(default_factory=dict)
    stores: int = 0  # how many of the batch's changes store a version of this person
    # The number an existing system gave a new person, kept instead of a new one (migration).
    kept_number: str = ""
    # The batch brings the individual number of a stored person who had none (SPEC 10.1).
    attach: bool = False
    # Merged into this representative by the batch (an individual number arrived on one of
    # this person's links that another person holds: SPEC 10.1, cause individual_number).
    merged_into: PersonPlan | None = None
    own_links: dict[str, list[str]] = field(default_factory=dict)  # before any merge

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
    # A second address number of this number system on the person (a review item, 10.3).
    second_address_number: bool = False
    # Candidates above the review threshold, for a new person without a number (10.3).
    candidates: list[Any] = field(default_factory=list)
    answer: AddressChangeResult | None = None  # once stored
    version: AddressVersion | None = None  # once stored


class NewPerson(Store):
    """The person is unknown: numbering issues an integrated number."""

    @property
    def screened(self) -> bool:
        """A new person without an individual number is screened for duplicates (10.1 d)."""
        return not self.person.holds_number


class Update(Store):
    """A known person: a new version of its basic items."""


@dataclass
class Plan:
    decisions: list[Decision]
    persons: dict[str, PersonPlan]  # by key
    # Existing links whose record status a change moves, with the batch's last word on each.
    link_statuses: dict[Pair, str]
    numbered: list[Person] = field(default_factory=list)
    screened: bool = False  # the new persons without a number were screened (10.3)

    def stores(self) -> list[Store]:
        return [decision for decision in self.decisions if isinstance(decision, Store)]

    def unchanged(self) -> list[Unchanged]:
        return [decision for decision in self.decisions if isinstance(decision, Unchanged)]

    def attached(self) -> list[PersonPlan]:
        return [state for state in self.persons.values() if state.attach]

    def merged(self) -> list[PersonPlan]:
        return [state for state in self.persons.values() if state.merged_into is not None]


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
    screen: bool = True,
) -> list[Decision]:
    """Decide and store a batch in one transaction; a Decision per change, in order.

    `receivers` caches the clients that take notices, per number system (the bulk import keeps
    them for a run). `first_try` skips the receipt lookup on the first attempt (see
    address_change_receive). `immediate_constraints` checks each foreign key as its row is
    written (PostgreSQL): a large batch otherwise queues thousands of deferred checks, and
    every history trigger's exception block rescans that queue, so a chunk's cost grew with
    its own size. `screen` False skips the duplicate screening of new persons without a number
    (the initial load, whose indexes are deferred).

    A batch of one (the API's) is written in one statement (linkage.tables.gathered): the keys
    and integrated numbers it needs are drawn at once after determination."""
    if receivers is None:
        receivers = {}
    gathering = len(batch) == 1
    for attempt in range(1, RACE_RETRIES + 1):
        try:
            with transaction.atomic(), gathered() if gathering else nullcontext():
                if immediate_constraints and connection.vendor == "postgresql":
                    with connection.cursor() as cursor:
                        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                plan = determination(batch, check_receipts=attempt > 1 or not first_try)
                if screen:
                    screening(plan)
                if gathering:
                    reserve(rows_expected(plan, receivers))
                numbering(plan)
                storing(plan)
                after(plan, cause=cause, receivers=receivers)
                return plan.decisions
        except (IntegrityError, OperationalError) as error:
            if attempt == RACE_RETRIES or not _lost_a_race(error):
                raise
            logger.info("a batch of address changes lost a race to another writer; retrying")
    raise AssertionError("unreachable")


def _lost_a_race(error: Exception) -> bool:
    """A unique constraint, or PostgreSQL's deadlock detection: two writers (two API requests,
    two streams of a load) inserted the same keys in opposite orders, and one was chosen to
    give way. Either way the batch is decided again from what the other stored."""
    return isinstance(error, IntegrityError) or isinstance(
        error.__cause__, psycopg_errors.DeadlockDetected
    )


# --- determination (36) ----------------------------------------------------------------------


@dataclass
class _Stored:
    """What determination reads once for a batch (see _stored_read)."""

    persons: dict[str, PersonPlan]  # by key
    holders: dict[str, str]  # blind index (newest key) -> key of the person holding it
    owners: dict[Pair, str]  # link -> key of its person (the representative if merged)
    ended: set[Pair]
    targets: dict[str, str]  # a resolution's integrated number -> key (persons not merged)
    merged_targets: set[str]  # a resolution's integrated numbers merged into another


def determination(batch: Sequence[Incoming], *, check_receipts: bool = True) -> Plan:
    """A Decision per change, in the order of SPEC 10.1: (a) a linked address number is its
    person's (the representative's, if merged); (b) an individual number is its holder's, else
    a new person's; (c) `resolution.link` names the person; (d) otherwise a new person,
    screened for duplicates after numbering."""
    fresh = _repeats_decide(batch) if check_receipts else {}
    accepted = [incoming for position, incoming in enumerate(batch) if position not in fresh]
    stored = _stored_read(accepted)
    persons, owners, ended = stored.persons, stored.owners, stored.ended

    holders = _kept_numbers_read(accepted)
    link_statuses: dict[Pair, str] = {}
    decisions: list[Decision] = []
    for position, incoming in enumerate(batch):
        if position in fresh:
            decisions.append(fresh[position])
            continue
        change = incoming.change
        pair = (change.number_system, change.address_number)
        found = _person_determine(incoming, stored)
        if isinstance(found, AddressChangeError):
            decisions.append(Refused(incoming, found))
            continue
        state = found
        if change.integrated_number and (refusal := _number_kept(state, change, holders)):
            decisions.append(Refused(incoming, refusal))
            continue
        new_link = pair not in owners
        owners[pair] = state.key
        ends = change.record_status == RecordStatus.ENDED
        moves_status = not new_link and (pair in ended) != ends
        if not new_link and not moves_status and _brings_nothing_new(state, change):
            decisions.append(Unchanged(incoming, state, state.history_seq))
            continue
        if moves_status:
            link_statuses[pair] = change.record_status
        (ended.add if ends else ended.discard)(pair)
        second = False
        if new_link:
            same_system = state.links.setdefault(change.number_system, [])
            second = any((change.number_system, number) not in ended for number in same_system)
            same_system.append(change.address_number)
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
        decisions.append(
            kind(incoming, state, state.history_seq, new_link, notify, current, second)
        )
    return Plan(decisions=decisions, persons=persons, link_statuses=link_statuses)


def _person_determine(incoming: Incoming, stored: _Stored) -> PersonPlan | AddressChangeError:
    """The person a change is about (SPEC 10.1), creating the batch's plan of a new one, or
    why it is refused. Attaches an arriving individual number, and merges a person who had
    none into the number's holder, on the plans (storing writes them)."""
    change = incoming.change
    pair = (change.number_system, change.address_number)
    persons, holders = stored.persons, stored.holders
    owner = stored.owners.get(pair)
    if owner is not None:  # (a)
        state = persons[owner]
        if not change.individual_number:
            return state
        holder = holders.get(incoming.index)
        if holder == owner:
            return state
        if state.holds_number or not _may_be_its_number(state, change.individual_number):
            return individual_number_not_replaced(*pair)
        if holder is None:
            _attach(state, incoming, holders)
            return state
        return _merge_into(persons[holder], state, stored)
    target = _resolution_target(change, stored)
    if isinstance(target, AddressChangeError):
        return target
    if change.individual_number:  # (b), with a resolution checked against the holder
        holder = holders.get(incoming.index)
        if target is not None:
            if (holder is not None and holder != target.key) or (
                holder is None and target.holds_number
            ):
                return individual_number_mismatch(target.integrated_number)
            if holder is None:
                _attach(target, incoming, holders)
            return target
        if holder is not None:
            return persons[holder]
        state = PersonPlan(
            key=incoming.index,
            person=None,
            holds_number=True,
            index=incoming.index,
            individual_number=change.individual_number,
            code_request_status=CodeRequestStatus.REQUESTING,
        )
        persons[state.key] = state
        holders[incoming.index] = state.key
        return state
    if target is not None:  # (c)
        return target
    state = PersonPlan(
        key=f"{NEW_WITHOUT_NUMBER}{pair[0]}:{pair[1]}", person=None, holds_number=False
    )
    persons[state.key] = state  # (d)
    return state


def _may_be_its_number(state: PersonPlan, individual_number: str) -> bool:
    """Whether a number may be that of a person without one: any number, for a person whose
    number nobody sent; for a person whose number was purged, one ending in the four digits
    kept of it (an individual number is never replaced by another, SPEC 10.1)."""
    person = state.person
    if person is None or person.purged_at is None or not person.individual_number_last4:
        return True
    return individual_number.endswith(person.individual_number_last4)


def _resolution_target(
    change: AddressChange, stored: _Stored
) -> PersonPlan | AddressChangeError | None:
    resolution = change.resolution
    if resolution is None or resolution.mode != "link":
        return None
    number = resolution.integrated_number
    key = stored.targets.get(number)
    if key is None:
        return unknown_person(number, merged=number in stored.merged_targets)
    target = stored.persons[key]
    while target.merged_into is not None:  # merged by this very batch
        target = target.merged_into
    return target


def _attach(state: PersonPlan, incoming: Incoming, holders: dict[str, str]) -> None:
    """A stored person who had no individual number (or whose number was purged) gets the
    one a change brings; the code request starts unless one was made before (claim 2)."""
    state.holds_number = True
    state.attach = True
    state.index = incoming.index
    state.individual_number = incoming.change.individual_number
    holders[incoming.index] = state.key
    if state.code_request_status == CodeRequestStatus.NOT_REQUESTED:
        state.code_request_status = CodeRequestStatus.REQUESTING


def _merge_into(representative: PersonPlan, merged: PersonPlan, stored: _Stored) -> PersonPlan:
    """SPEC 10.1: the number arrived on a link of a person without one, and another person
    holds it: they are one individual, merged with the holder as representative."""
    merged.merged_into = representative
    merged.own_links = {system: list(numbers) for system, numbers in merged.links.items()}
    for pair, key in stored.owners.items():
        if key == merged.key:
            stored.owners[pair] = representative.key
    for number_system, numbers in merged.links.items():
        representative.links.setdefault(number_system, []).extend(numbers)
    return representative


def _stored_read(batch: Sequence[Incoming]) -> _Stored:
    """What is stored of the batch's persons and address numbers: the persons holding the
    batch's individual numbers, owning its address numbers or named by its resolutions (each
    locked, its representative if merged), their versions, links and current business items.
    Three reads when every person is found by its number (the common case), a few more when
    address numbers or resolutions lead to other persons."""
    numbers = {
        incoming.index: incoming.change.individual_number
        for incoming in batch
        if incoming.change.individual_number
    }
    # A blind-index rotation may be under way: persons still indexed under an older key are
    # found by that key's index (computed only while there is more than one key).
    newest_of = {index: index for index in numbers}
    for index, number in numbers.items():
        for older in blind_indexes(number)[1:]:
            newest_of[older] = index
    found: dict[int, Person] = {
        person.pk: person
        for person in compiled(
            "persons by blind index",
            lambda indexes: _locked().filter(individual_number_index__any=indexes),
            list(newest_of),
        )
    }
    holders = {
        newest_of[person.individual_number_index or ""]: _key(person.pk)
        for person in found.values()
    }

    addresses: dict[str, list[str]] = {}
    for incoming in batch:
        addresses.setdefault(incoming.change.number_system, []).append(
            incoming.change.address_number
        )
    link_rows = _links_read(addresses, found.keys(), found)
    wanted = {
        incoming.change.resolution.integrated_number
        for incoming in batch
        if incoming.change.resolution is not None and incoming.change.resolution.mode == "link"
    }
    targets: dict[str, str] = {}
    merged_targets: set[str] = set()
    if wanted:
        for person in _locked().filter(integrated_number__any=list(wanted)):
            if person.merged_into_id is not None:
                merged_targets.add(person.integrated_number)
            else:
                found[person.pk] = person
                targets[person.integrated_number] = _key(person.pk)
    missing = {row.representative for row in link_rows} - found.keys()
    if missing:
        found |= {person.pk: person for person in _locked().filter(pk__any=list(missing))}
    if missing or targets:
        known = {(row.number_system, row.address_number) for row in link_rows}
        link_rows += [
            row
            for row in _links_read({}, missing | {int(key[3:]) for key in targets.values()}, found)
            if (row.number_system, row.address_number) not in known
        ]

    # The basic items of every version of these persons, by history_seq, the newest kept:
    # driven by the index on person_id. (A "history_seq = newest" subquery made PostgreSQL
    # scan the whole version table.) Plain values: a model instance per version cost more.
    latest: dict[int, tuple[int, BasicItems]] = {}
    by_system: dict[int, dict[str, tuple[int, BasicItems]]] = {}
    current_of: dict[int, BasicItems] = {}
    if found:
        for (
            person_id,
            history_seq,
            number_system,
            is_current,
            *items,
        ) in compiled(
            "versions of persons",
            lambda person_ids: AddressVersion.objects.filter(person_id__any=person_ids).values_list(
                "person_id", "history_seq", "number_system", "is_current", *_BASIC_ITEMS
            ),
            list(found),
        ):
            version = (history_seq, BasicItems(*items))
            known_version = latest.get(person_id)
            if known_version is None or known_version[0] < history_seq:
                latest[person_id] = version
            if is_current:
                current_of[person_id] = version[1]
            systems = by_system.setdefault(person_id, {})
            known_version = systems.get(number_system)
            if known_version is None or known_version[0] < history_seq:
                systems[number_system] = version
    business = _current_business_read(batch, found)

    links: dict[int, dict[str, list[str]]] = {}
    owners: dict[Pair, str] = {}
    ended: set[Pair] = set()
    for row in sorted(link_rows, key=lambda row: (row.number_system, row.address_number)):
        pair = (row.number_system, row.address_number)
        owners[pair] = _key(row.representative)
        if row.status == RecordStatus.ENDED:
            ended.add(pair)
        links.setdefault(row.representative, {}).setdefault(row.number_system, []).append(
            row.address_number
        )

    persons: dict[str, PersonPlan] = {}
    for pk, person in found.items():
        history_seq, newest = latest.get(pk, (0, None))
        persons[_key(pk)] = PersonPlan(
            key=_key(pk),
            person=person,
            holds_number=person.has_individual_number,
            history_seq=history_seq,
            # The current basic items, what a new version is compared with (S120).
            latest=current_of.get(pk, newest),
            code_request_status=code_request_status_of(person),
            links=links.get(pk, {}),
            latest_by_system={
                number_system: items for number_system, (_, items) in by_system.get(pk, {}).items()
            },
            business=business.get(pk, {}),
        )
    return _Stored(persons, holders, owners, ended, targets, merged_targets)


# A version's basic items, in the order BasicItems takes them.
_BASIC_ITEMS = ("name", "birth_date", "sex", "address", "name_kana")


@dataclass(frozen=True)
class _LinkRow:
    number_system: str
    address_number: str
    representative: int  # the person's id, or its representative's if merged
    status: str


def _key(person_id: int) -> str:
    return f"{STORED}{person_id}"


def _locked() -> QuerySet[Person]:
    """The persons determination reads, each locked: what determination and the notices read
    of a person (a timestamp column costs a Python conversion per row: the others are left
    for the rare path that needs them)."""
    return (
        Person.objects.select_for_update(of=("self",))
        .select_related("code_request")
        .only(
            "integrated_number",
            "individual_number_index",
            "individual_number_encrypted",
            "individual_number_index_key",
            "purged_at",
            "individual_number_last4",
            "merged_into_id",
            "code_request__status",
        )
    )


def _with_followers(person_ids: Iterable[int]) -> list[int]:
    """These persons and the persons merged into them (one indexed read of the merged ones: a
    join in the links' query kept PostgreSQL from their indexes)."""
    ids = sorted(person_ids)
    if not ids:
        return []
    followers = compiled(
        "persons merged into",
        lambda ids: Person.objects.filter(merged_into_id__any=ids).values_list("pk", flat=True),
        ids,
    )
    return [*ids, *followers]


def _links_read(
    addresses: dict[str, list[str]], person_ids: Iterable[int], known: dict[int, Person]
) -> list[_LinkRow]:
    """The links of these address numbers (by number system) and of these persons and the
    persons merged into them, each with its representative: the person's own id, or, for a
    person merged into another, the representative's (`known` persons are not read again)."""
    persons = _with_followers(person_ids)
    if not addresses and not persons:
        return []
    # One OR branch per number system, then one for the persons: the read's shape.
    arguments: list[Any] = [
        value for number_system, numbers in addresses.items() for value in (number_system, numbers)
    ]
    if persons:
        arguments.append(persons)

    def build(*values: Any) -> QuerySet[CrossReference, tuple[str, str, int, str]]:
        wanted = Q()
        for position in range(len(addresses)):
            number_system, numbers = values[2 * position : 2 * position + 2]
            wanted |= Q(number_system=number_system) & Q(address_number__any=numbers)
        if persons:
            wanted |= Q(person_id__any=values[-1])
        return CrossReference.objects.filter(wanted).values_list(
            "number_system", "address_number", "person_id", "record_status"
        )

    rows = list(compiled(("links", len(addresses), bool(persons)), build, *arguments))
    representative = {pk: person.merged_into_id or pk for pk, person in known.items()}
    unknown = {person_id for _, _, person_id, _ in rows} - representative.keys()
    if unknown:
        representative |= {
            pk: merged_into or pk
            for pk, merged_into in Person.objects.filter(pk__any=list(unknown)).values_list(
                "pk", "merged_into_id"
            )
        }
    return [
        _LinkRow(number_system, address_number, representative[person_id], status)
        for number_system, address_number, person_id, status in rows
    ]


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
    holder's key."""
    given = {incoming.change.integrated_number for incoming in batch} - {""}
    if not given:
        return {}
    return {
        number: _key(pk)
        for number, pk in Person.objects.filter(integrated_number__any=list(given)).values_list(
            "integrated_number", "pk"
        )
    }


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
    if holder is not None and holder != state.key:
        return integrated_number_taken(given)
    state.kept_number = given
    holders[given] = state.key
    return None


def _repeats_decide(batch: Sequence[Incoming]) -> dict[int, Decision]:
    """Changes already stored (same event id and body: a repeat, answered as before) or
    conflicting with a stored one or an earlier one of the batch (same event id, another body:
    refused), by position in the batch."""
    wanted = Q()
    for number_system in {incoming.change.number_system for incoming in batch}:
        wanted |= Q(
            number_system=number_system,
            event_id__any=[
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


def _current_business_read(
    batch: Sequence[Incoming], persons: dict[int, Person]
) -> dict[int, dict[str, Any]]:
    """The current business items by data type (the newest of each) of the stored persons,
    when the batch's changes carry business items: person id -> data type -> items."""
    current: dict[int, dict[str, Any]] = {}
    if persons and any(incoming.change.business is not None for incoming in batch):
        for person_id, data_type, items in compiled(
            "business items of persons",
            lambda person_ids: (
                BusinessInformation.objects.filter(person_id__any=person_ids)
                .order_by("pk")
                .values_list("person_id", "data_type", "items")
            ),
            list(persons),
        ):
            current.setdefault(person_id, {})[data_type] = items  # the newest last
    return current


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
            **_number_values(state),
        )
        for state in new
    ]
    insert(persons)
    for state, person in zip(new, persons, strict=True):
        state.person = person
    plan.numbered = persons


def _number_values(state: PersonPlan) -> dict[str, Any]:
    """Person's individual-number columns for a number the batch brings (none: SPEC 10)."""
    if not state.individual_number:
        return {
            "individual_number_index": None,
            "individual_number_encrypted": "",
            "individual_number_index_key": "",
        }
    return {
        "individual_number_index": state.index,
        "individual_number_encrypted": encrypt_individual_number(
            state.individual_number, index=state.index
        ),
        "individual_number_index_key": blind_index_key_id(),
        "individual_number_last4": "",
        "purged_at": None,
    }


def numbers_attach(plan: Plan) -> None:
    """The individual numbers that arrived for stored persons who had none, or whose number
    was purged (SPEC 10.1): encrypted and blind-indexed on the person. The unique index
    settles a race with a concurrent first arrival of the same number (the retry merges)."""
    for state in plan.attached():
        person = state.person
        assert person is not None  # noqa: S101 (a stored person)
        values = _number_values(state)
        Person.objects.filter(pk=person.pk).update(**values)
        for name, value in values.items():
            setattr(person, name, value)


def screening(plan: Plan) -> None:
    """Duplicate screening of the new persons without an individual number (SPEC 10.1 d,
    10.3): the stored persons above the review threshold, at most REVIEW_CANDIDATES each
    (before numbering: a person new in the batch has nothing stored to be found by). Each is
    screened again after commit (a ScreeningDue row, linkage.services.screening), when the
    other new persons of its batch and of the transactions beside it can be found too."""
    plan.screened = True
    for decision in plan.stores():
        if isinstance(decision, NewPerson) and decision.screened:
            decision.candidates = candidates_find(
                decision.change.person, limit=settings.MATCHING["review_candidates"]
            )


def rows_expected(plan: Plan, receivers: dict[str, list[BackboneClient]]) -> dict[Drawn, int]:
    """How many keys of each table, and integrated numbers, numbering, storing and after will
    draw for the plan: what a gathered batch reserves in one statement (a miscount costs a
    statement more or leaves a gap, nothing else)."""
    stores = plan.stores()
    new = [decision.person for decision in stores if isinstance(decision, NewPerson)]
    numbered = sum(1 for state in new if state.individual_number) + len(plan.attached())
    _receivers_read(stores, receivers)
    return {
        SEQUENCE_NAME: sum(1 for state in new if not state.kept_number),
        Person: len(new),
        AddressChangeReceipt: len(stores) + len(plan.unchanged()),
        AddressVersion: len(stores),
        CrossReference: sum(1 for decision in stores if decision.new_link),
        BusinessInformation: sum(1 for decision in stores if decision.change.business),
        CodeRequest: numbered,
        CodeRequestTransition: numbered,
        Notice: sum(
            len(receivers[number_system])
            for decision in stores
            for number_system in _notified(decision)
        ),
        ReviewItem: sum(
            len(decision.candidates) + decision.second_address_number for decision in stores
        ),
        ScreeningDue: len(_screened_again(plan)),
    }


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
        possible_duplicates=len(decision.candidates)
        if isinstance(decision, NewPerson) and decision.screened
        else None,
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
    """The individual numbers that arrived, the receipt and the new version of every stored
    change, the new links, the moved link statuses and the business items: one set-wise
    insert per table."""
    numbers_attach(plan)
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


def after(plan: Plan, *, cause: str, receivers: dict[str, list[BackboneClient]]) -> None:
    """The batch's newly numbered persons are announced once (the persons_numbered receiver
    opens their code requests, claim 2), and the notices of the whole batch are written:
    integrated_number.assigned for each new link (S27), address.updated to every other linked
    system when the basic items changed (S120). Each notice is sent after commit."""
    created = [person for person in plan.numbered if person.individual_number_index]
    numbered = created + [state.person for state in plan.attached() if state.person is not None]
    if numbered:
        persons_numbered.send(
            sender=Person,
            persons=numbered,
            cause=cause,
            created=frozenset(person.pk for person in created),
        )
    if plan.merged():
        flush()  # the merge reads and moves the persons' rows, this batch's included
    for state in plan.merged():
        assert state.person is not None and state.merged_into is not None  # noqa: S101
        assert state.merged_into.person is not None  # noqa: S101
        person_merge(
            representative=state.merged_into.person,
            merged=state.person,
            cause=PersonMerge.Cause.INDIVIDUAL_NUMBER,
        )
    review_items_open(plan)
    insert([build(ScreeningDue, person_id=_stored(state).pk) for state in _screened_again(plan)])
    stores = plan.stores()
    if not _receivers_read(stores, receivers):
        return
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


def _notified(decision: Store) -> list[str]:
    """The number systems that hear of a stored change: its own, of a new link (S27), and
    those told of new basic items (S120)."""
    return ([decision.change.number_system] if decision.new_link else []) + [
        number_system for number_system, _ in decision.notify
    ]


def _receivers_read(stores: list[Store], receivers: dict[str, list[BackboneClient]]) -> bool:
    """Fill `receivers` with the clients taking the stores' notices, per number system (read
    once for whatever the cache lacks); whether there is any notice to write."""
    wanted = {number_system for decision in stores for number_system in _notified(decision)}
    missing = wanted - receivers.keys()
    if missing:
        receivers.update(receivers_by_number_system(missing))
    return bool(wanted)


def _stored(state: PersonPlan) -> Person:
    assert state.person is not None  # noqa: S101 (numbered)
    return state.person


def _screened_again(plan: Plan) -> list[PersonPlan]:
    """The new persons screened before commit, to be screened again after it."""
    if not plan.screened:
        return []
    return [
        decision.person
        for decision in plan.stores()
        if isinstance(decision, NewPerson) and decision.screened
    ]


def review_items_open(plan: Plan) -> None:
    """名寄せ候補 for the clerks (SPEC 10.3): a new person without an individual number with
    candidates above the review threshold, and a second address number of one number system
    on a person (a duplicate inside that business system)."""
    items = []
    for decision in plan.stores():
        person = decision.person.person
        assert person is not None  # noqa: S101 (numbered)
        items += [possible_duplicate(person.pk, candidate) for candidate in decision.candidates]
        if decision.second_address_number:
            items.append(
                build(
                    ReviewItem,
                    kind=ReviewItem.Kind.DUPLICATE_ADDRESS_NUMBER,
                    person_id=person.pk,
                    number_system=decision.change.number_system,
                )
            )
    insert(items)


def _notices(
    event: str, person: Person, clients: list[BackboneClient], payload: dict[str, Any]
) -> list[Notice]:
    return [
        build(Notice, event=event, client_id=client.pk, person_id=person.pk, payload=payload)
        for client in clients
    ]
