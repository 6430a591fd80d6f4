"""Storing a chunk of validated address changes set-wise (bulk import).

The same determination, numbering, storing, code request and notice rules as
`address_change_receive`, decided in Python over the whole chunk and written with a few bulk
statements per table instead of a dozen statements per change. A chunk is one transaction:
an interrupted import loses at most the chunk in flight, and running the file again skips
every change already stored (idempotency by event_id, as the API).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from ..crypto import encrypt_individual_number
from ..events import persons_numbered
from ..models import (
    AddressChangeReceipt,
    AddressVersion,
    BackboneClient,
    BusinessInformation,
    CodeRequestStatus,
    CrossReference,
    Notice,
    NoticeEvent,
    Person,
    RecordStatus,
)
from ..selectors import code_request_status_of
from ..services.address_changes import (
    RACE_RETRIES,
    AddressChange,
    AddressChangeError,
    address_number_conflict,
    answer_of,
    business_values,
    event_id_conflict,
    individual_number_reattach,
    link_statuses_apply,
    link_values,
    receipt_values,
    version_values,
)
from ..services.enqueueing import enqueue
from ..services.key_rotation import persons_under_old_blind_index
from ..services.notices import (
    HasBasicItems,
    link_data,
    receivers,
    update_data,
    update_targets,
)
from ..services.numbering import integrated_numbers_issue
from ..services.retention import PURGED_INDEX_PREFIX
from .checking import CheckedRow
from .rows import RowError
from .tables import build, ids_allocate, insert

CODE_REQUEST_CAUSE = "person_registered (bulk import)"


@dataclass
class ChunkResult:
    registered: int = 0
    updated: int = 0
    duplicates: int = 0
    rejects: list[tuple[int, RowError]] = field(default_factory=list)


class _Latest(NamedTuple):
    """A person's newest stored version, as far as the import needs it."""

    history_seq: int
    name: str
    name_kana: str
    birth_date: datetime.date
    sex: str
    address: str


@dataclass
class _PersonState:
    """What the chunk knows of one individual number while it walks the rows in order."""

    index: str
    individual_number: str
    person: Person | None  # None until numbered (a person new in this chunk)
    latest: _Latest | None
    code_request_status: str
    links: dict[str, list[str]] = field(default_factory=dict)  # number system -> addresses
    rows: list[int] = field(default_factory=list)


class BlindIndexRotationUnderWay(Exception):
    """A chunk finds persons by their newest-key index only: it must not run while some
    persons are still indexed under an older key (rotate_blind_index_key)."""


class Importer:
    """Imports chunks for one run; caches what does not change during a run."""

    def __init__(self) -> None:
        if persons_under_old_blind_index().exists():
            raise BlindIndexRotationUnderWay(
                "some persons are still indexed under an older blind-index key: "
                "finish `manage.py rotate_blind_index_key` before importing"
            )
        self.clients: dict[str, BackboneClient] = {}
        self.receivers: dict[str, list[BackboneClient]] = {}
        # Individual number -> blind index, as computed when the chunk's rows were checked.
        self.indexes: dict[str, str] = {}

    def client_for(self, number_system: str) -> BackboneClient:
        """The receipts' client: one per number system, named for the import, with no usable
        key (revoked at creation), so it can never call the API."""
        if number_system not in self.clients:
            client, _ = BackboneClient.objects.get_or_create(
                number_system=number_system,
                key_digest=f"bulk-import-{number_system}",
                defaults={
                    "name": "一括取込 (import_address_changes)",
                    "key_prefix": "-",
                    "revoked_at": timezone.now(),
                },
            )
            self.clients[number_system] = client
        return self.clients[number_system]

    def receivers_of(self, number_system: str) -> list[BackboneClient]:
        if number_system not in self.receivers:
            self.receivers[number_system] = receivers(number_system)
        return self.receivers[number_system]

    def import_chunk(self, checked: list[CheckedRow]) -> ChunkResult:
        """Store the chunk's good rows in one transaction. A concurrent writer (the API
        registering one of these persons at the same moment) makes a unique constraint fail:
        the chunk is then decided again from what is stored, as address_change_receive
        retries."""
        rows = [(row.line, row.change) for row in checked if row.change is not None]
        digests = [row.digest for row in checked if row.change is not None]
        self.indexes = {
            row.change.individual_number: row.index for row in checked if row.change is not None
        }
        for number_system in {change.number_system for _, change in rows}:
            self.client_for(number_system)
            self.receivers_of(number_system)
        for attempt in range(1, RACE_RETRIES + 1):
            try:
                with transaction.atomic():
                    return self._import(rows, digests)
            except IntegrityError:
                if attempt == RACE_RETRIES:
                    raise
        raise AssertionError("unreachable")

    # --- the chunk, step by step ---------------------------------------------------------

    def _import(self, rows: list[tuple[int, AddressChange]], digests: list[str]) -> ChunkResult:
        result = ChunkResult()
        accepted = self._drop_repeats(rows, digests, result)
        if not accepted:
            return result
        changes = [change for _, change, _ in accepted]
        states = self._load_persons(changes)
        taken, ended = self._load_cross_references(changes)
        if self._returning_numbers_attach(changes, states, taken):
            states = self._load_persons(changes)
            taken, ended = self._load_cross_references(changes)

        # Existing links whose record status a change moves: the chunk's last word on each
        # (most changes leave an active link active, and touch no status at all).
        statuses: dict[tuple[str, str], dict[str, Any]] = {}
        plan: list[tuple[int, AddressChange, str, _PersonState, int, bool, bool]] = []
        for line, change, digest in accepted:
            state = states[self.indexes[change.individual_number]]
            pair = (change.number_system, change.address_number)
            owner = taken.get(pair)
            if owner is not None and owner != state.index:
                result.rejects.append(
                    (
                        line,
                        _error(
                            address_number_conflict(change.number_system, change.address_number)
                        ),
                    )
                )
                continue
            registered = state.person is None and not state.rows
            new_link = owner is None
            taken[pair] = state.index
            ends = change.record_status == RecordStatus.ENDED
            if not new_link and (pair in ended) != ends:
                statuses[pair] = link_values(change)
            if ends:
                ended.add(pair)
            else:
                ended.discard(pair)
            if new_link:
                state.links.setdefault(change.number_system, []).append(change.address_number)
            seq = len(state.rows) + 1 + (state.latest.history_seq if state.latest else 0)
            state.rows.append(len(plan))
            plan.append((line, change, digest, state, seq, registered, new_link))
            if registered:
                result.registered += 1
            else:
                result.updated += 1

        self._number(states)
        self._write(plan, statuses)
        return result

    def _returning_numbers_attach(
        self,
        changes: list[AddressChange],
        states: dict[str, _PersonState],
        taken: dict[tuple[str, str], str],
    ) -> bool:
        """A change on the link of a person whose number was purged, with a number nobody
        holds: the same person returns, and gets its number attached again (SPEC 10.1), as
        the API does. Once per number; whether anything was attached."""
        attached: set[str] = set()
        for change in changes:
            owner = taken.get((change.number_system, change.address_number), "")
            index = self.indexes[change.individual_number]
            purged = owner.startswith(PURGED_INDEX_PREFIX)
            if purged and states[index].person is None and index not in attached:
                person = Person.objects.get(pk=int(owner.removeprefix(PURGED_INDEX_PREFIX)))
                individual_number_reattach(person, change.individual_number)
                attached.add(index)
        return bool(attached)

    def _drop_repeats(
        self, rows: list[tuple[int, AddressChange]], digests: list[str], result: ChunkResult
    ) -> list[tuple[int, AddressChange, str]]:
        """Changes already stored (same event_id and body: a duplicate, as the API replays) or
        conflicting with a stored one (same event_id, another body: refused)."""
        wanted = Q()
        for number_system in {change.number_system for _, change in rows}:
            wanted |= Q(
                number_system=number_system,
                event_id__in=[c.event_id for _, c in rows if c.number_system == number_system],
            )
        stored = {
            (ns, event_id): digest
            for ns, event_id, digest in AddressChangeReceipt.objects.filter(wanted).values_list(
                "number_system", "event_id", "body_digest"
            )
        }
        accepted: list[tuple[int, AddressChange, str]] = []
        for (line, change), digest in zip(rows, digests, strict=True):
            key = (change.number_system, change.event_id)
            earlier = stored.get(key)
            if earlier is None:
                stored[key] = digest
                accepted.append((line, change, digest))
            elif change.same_body_as(earlier, digest):
                result.duplicates += 1
            else:
                result.rejects.append((line, _error(event_id_conflict())))
        return accepted

    def _load_persons(self, changes: list[AddressChange]) -> dict[str, _PersonState]:
        numbers = {self.indexes[c.individual_number]: c.individual_number for c in changes}
        persons = {
            person.individual_number_index: person
            for person in Person.objects.select_for_update(of=("self",))
            .select_related("code_request")
            .filter(individual_number_index__in=numbers)
        }
        # Every version of these persons, the newest kept: driven by the index on person_id.
        # (A "history_seq = newest" subquery made PostgreSQL scan the whole version table
        # once per chunk, so each chunk got slower as the table grew.)
        latest: dict[int, _Latest] = {}
        for row in AddressVersion.objects.filter(
            person_id__in=[person.pk for person in persons.values()]
        ).values_list("person_id", *_Latest._fields):
            version = _Latest(*row[1:])
            if row[0] not in latest or latest[row[0]].history_seq < version.history_seq:
                latest[row[0]] = version
        links: dict[int, dict[str, list[str]]] = defaultdict(dict)
        for person_id, number_system, address_number in (
            CrossReference.objects.filter(person__in=persons.values())
            .order_by("number_system", "address_number")
            .values_list("person_id", "number_system", "address_number")
        ):
            links[person_id].setdefault(number_system, []).append(address_number)
        states: dict[str, _PersonState] = {}
        for index, number in numbers.items():
            person = persons.get(index)
            states[index] = _PersonState(
                index=index,
                individual_number=number,
                person=person,
                latest=latest.get(person.pk) if person else None,
                code_request_status=(
                    code_request_status_of(person) if person else CodeRequestStatus.REQUESTING
                ),
                links=links.get(person.pk, {}) if person else {},
            )
        return states

    def _load_cross_references(
        self, changes: list[AddressChange]
    ) -> tuple[dict[tuple[str, str], str], set[tuple[str, str]]]:
        """(number system, address number) -> the blind index of the person it belongs to,
        and which of those links are ended."""
        wanted = Q()
        for number_system in {c.number_system for c in changes}:
            wanted |= Q(
                number_system=number_system,
                address_number__in=[
                    c.address_number for c in changes if c.number_system == number_system
                ],
            )
        rows = CrossReference.objects.filter(wanted).values_list(
            "number_system", "address_number", "person__individual_number_index", "record_status"
        )
        taken: dict[tuple[str, str], str] = {}
        ended: set[tuple[str, str]] = set()
        for ns, address_number, index, status in rows:
            taken[(ns, address_number)] = index
            if status == RecordStatus.ENDED:
                ended.add((ns, address_number))
        return taken, ended

    def _number(self, states: dict[str, _PersonState]) -> None:
        """Numbering (37) for the persons new in this chunk, in the order they first appear."""
        new = sorted(
            (state for state in states.values() if state.person is None and state.rows),
            key=lambda state: state.rows[0],
        )
        numbers = integrated_numbers_issue(len(new))
        persons = [
            Person(
                pk=pk,
                integrated_number=number,
                individual_number_index=state.index,
                individual_number_encrypted=encrypt_individual_number(
                    state.individual_number, index=state.index
                ),
            )
            for state, number, pk in zip(new, numbers, ids_allocate(Person, len(new)), strict=True)
        ]
        insert(persons)
        for state, person in zip(new, persons, strict=True):
            state.person = person
        if persons:
            persons_numbered.send(sender=Person, persons=persons, cause=CODE_REQUEST_CAUSE)

    def _write(
        self,
        plan: list[tuple[int, AddressChange, str, _PersonState, int, bool, bool]],
        statuses: dict[tuple[str, str], dict[str, Any]],
    ) -> None:
        receipts: list[AddressChangeReceipt] = []
        versions: list[AddressVersion] = []
        links: list[CrossReference] = []
        notices: list[Notice] = []
        previous: dict[str, HasBasicItems | None] = {}
        receipt_ids = iter(ids_allocate(AddressChangeReceipt, len(plan)))
        for _line, change, digest, state, seq, registered, new_link in plan:
            person = state.person
            assert person is not None  # noqa: S101 (numbered above)
            result = answer_of(
                change,
                integrated_number=person.integrated_number,
                history_seq=seq,
                registered=registered,
                code_request_status=state.code_request_status,
            )
            receipt = build(
                AddressChangeReceipt,
                pk=next(receipt_ids),
                client_id=self.clients[change.number_system].pk,
                person_id=person.pk,
                **receipt_values(change, digest, result),
            )
            receipts.append(receipt)
            version = build(
                AddressVersion,
                person_id=person.pk,
                history_seq=seq,
                receipt_id=receipt.pk,
                **version_values(change),
            )
            versions.append(version)
            if new_link:
                links.append(
                    build(
                        CrossReference,
                        number_system=change.number_system,
                        address_number=change.address_number,
                        person_id=person.pk,
                        **link_values(change),
                    )
                )
                notices += _notices(
                    NoticeEvent.INTEGRATED_NUMBER_ASSIGNED,
                    person,
                    self.receivers[change.number_system],
                    link_data(person, change.number_system, change.address_number),
                )
            targets = update_targets(
                version=version,
                previous=previous.get(state.index, state.latest),
                linked=state.links,
            )
            for number_system, address_numbers in targets:
                notices += _notices(
                    NoticeEvent.ADDRESS_UPDATED,
                    person,
                    self.receivers_of(number_system),
                    update_data(person, version, number_system, address_numbers),
                )
            previous[state.index] = version

        stored = {state.person.pk for _, _, _, state, *_ in plan if state.latest and state.person}
        newest: dict[int, AddressVersion] = {}
        for version in versions:
            version.search_keys_fill()
            version.is_current = False
            newest[version.person_id] = version
        for version in newest.values():
            version.is_current = True
        # The persons stored before this chunk: their current versions are superseded.
        AddressVersion.objects.supersede(sorted(stored))
        insert(receipts)
        insert(versions)  # gives them ids before the business rows below refer to them
        insert(links)
        link_statuses_apply(statuses)
        insert(
            [
                build(
                    BusinessInformation,
                    person_id=version.person_id,
                    address_version_id=version.pk,
                    **business_values(change.business, change.number_system),
                )
                for (_, change, *_rest), version in zip(plan, versions, strict=True)
                if change.business is not None
            ]
        )
        insert(notices)
        for notice in notices:
            enqueue("notice_deliver", notice.pk)


def _notices(
    event: str, person: Person, clients: list[BackboneClient], payload: dict[str, Any]
) -> list[Notice]:
    return [
        build(Notice, event=event, client_id=client.pk, person_id=person.pk, payload=payload)
        for client in clients
    ]


def _error(error: AddressChangeError) -> RowError:
    return RowError(error.field, error.code, error.message)
