"""Reads: every query the API and the screens share."""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, overload

from django.conf import settings
from django.db.models import Count, Max, Min, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from primitives.crypto import blind_indexes
from primitives.vocabulary import BASIC_ITEMS

from .models import (
    AccessAction,
    AccessOutcome,
    AccessRecord,
    AddressVersion,
    AuditChainVerification,
    BusinessInformation,
    CodeRequest,
    CodeRequestStatus,
    CodeRequestTransition,
    CrossReference,
    Notice,
    Person,
    PersonMerge,
    ScreeningDue,
)
from .readings import found_many, keep, kept


@dataclass(frozen=True)
class PersonCurrent:
    """A person with its current version (宛名情報テーブル 33 as the seed's figure 3 shows it).
    For a representative (SPEC 10.4), `links` include those of the persons merged into it,
    and `merged` names them."""

    person: Person
    version: AddressVersion
    links: list[CrossReference]
    code_request_status: str
    merged: list[str] = field(default_factory=list)


def representative_of(person: Person) -> Person:
    """The person a merged person resolves to (itself when not merged)."""
    return person.merged_into if person.merged_into_id is not None else person  # type: ignore[return-value]


def person_current_for_number_system(
    *, integrated_number: str, number_system: str
) -> PersonCurrent | None:
    """The person with this integrated number (its representative if merged: SPEC 7.1), if
    it or a person merged into it is linked to the given number system."""
    found = (
        Person.objects.filter(integrated_number=integrated_number)
        .select_related("code_request", "merged_into", "merged_into__code_request")
        .first()
    )
    if found is None:
        return None
    person = representative_of(found)
    links = list(
        CrossReference.objects.filter(Q(person=person) | Q(person__merged_into=person))
        .select_related("person")
        .order_by("number_system", "address_number")
    )
    merged = sorted({link.person.integrated_number for link in links if link.person != person})
    if not any(link.number_system == number_system for link in links):
        return None
    # The current basic items (SPEC 10.5: 住基's for a person linked to it), else the newest.
    version = (
        person.versions.filter(is_current=True).first()
        or person.versions.order_by("-history_seq").first()
    )
    if version is None:
        return None
    return PersonCurrent(
        person=person,
        version=version,
        links=links,
        code_request_status=code_request_status_of(person),
        merged=merged,
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
    """The error list (confirmation unit 42): failed code requests, newest failure first,
    with the person's current name and kana (`current_name`, `current_name_kana`)."""
    current = AddressVersion.objects.current().filter(person_id=OuterRef("person_id"))
    return (
        code_requests_list()
        .filter(status=CodeRequestStatus.ERROR)
        .annotate(
            current_name=Subquery(current.values("name")[:1]),
            current_name_kana=Subquery(current.values("name_kana")[:1]),
        )
    )


# The clerk screens and the staff API (online function 40, list creation 41, dashboard).


def persons_current() -> QuerySet[AddressVersion]:
    """Every person as its current version, with what the result lists show: the rows that
    search filters (linkage.filters.PersonSearchFilter) narrow down. A person merged into
    another has no current version (linkage.services.merges): its representative is listed."""
    return AddressVersion.objects.current().select_related("person", "person__code_request")


def person_by_individual_number(individual_number: str) -> Person | None:
    """Exact lookup through the blind index: the number itself is never compared or stored."""
    return Person.objects.filter(
        individual_number_index__in=blind_indexes(individual_number)
    ).first()


@dataclass(frozen=True)
class VersionChange:
    """One version and which basic items differ from the version before it."""

    version: AddressVersion
    changed: frozenset[str]


@dataclass(frozen=True)
class PersonDetail:
    person: Person
    current: AddressVersion
    versions: list[VersionChange]  # newest first
    links: list[CrossReference]
    business: dict[str, list[BusinessInformation]]  # data type -> arrivals, newest first
    code_request: CodeRequest | None
    transitions: list[CodeRequestTransition]
    # 名寄せ (SPEC 10.4): every merge and unmerge this person took part in, newest first, and
    # the links of the persons now merged into it (they resolve to it).
    merges: list[PersonMerge] = field(default_factory=list)
    merged_links: list[CrossReference] = field(default_factory=list)


def person_detail(integrated_number: str) -> PersonDetail | None:
    """Everything the person page shows, in a fixed number of queries."""
    person = (
        Person.objects.filter(integrated_number=integrated_number)
        .select_related("code_request", "merged_into")
        .prefetch_related(
            Prefetch(
                "versions",
                queryset=AddressVersion.objects.select_related(
                    "receipt__client", "corrected_by"
                ).order_by("history_seq"),
            ),
            Prefetch(
                "cross_references",
                queryset=CrossReference.objects.order_by("number_system", "address_number"),
            ),
            Prefetch(
                "business_information",
                queryset=BusinessInformation.objects.select_related("address_version").order_by(
                    "data_type", "-registered_at", "-pk"
                ),
            ),
        )
        .first()
    )
    if person is None:
        return None
    versions: list[VersionChange] = []
    previous: AddressVersion | None = None
    for version in person.versions.all():
        changed = frozenset(
            name
            for name in BASIC_ITEMS
            if previous is not None and getattr(version, name) != getattr(previous, name)
        )
        versions.append(VersionChange(version=version, changed=changed))
        previous = version
    if previous is None:
        return None
    # The current version (SPEC 10.5: 住基's for a person linked to it), else the newest.
    current = next((change.version for change in versions if change.version.is_current), previous)
    business: dict[str, list[BusinessInformation]] = {}
    for row in person.business_information.all():
        business.setdefault(row.data_type, []).append(row)
    code_request = getattr(person, "code_request", None)
    transitions = (
        list(code_request.transitions.order_by("occurred_at", "pk"))
        if code_request is not None
        else []
    )
    merges = list(
        PersonMerge.objects.filter(Q(representative=person) | Q(merged=person))
        .select_related("representative", "merged")
        .order_by("-merged_at", "-pk")
    )
    return PersonDetail(
        person=person,
        current=current,
        versions=versions[::-1],
        links=list(person.cross_references.all()),
        business=business,
        code_request=code_request,
        transitions=transitions,
        merges=merges,
        # Read only for a representative: every other page keeps its number of queries.
        merged_links=list(
            CrossReference.objects.filter(person__merged_into=person)
            .select_related("person")
            .order_by("number_system", "address_number")
        )
        if any(m.representative_id == person.pk and m.unmerged_at is None for m in merges)
        else [],
    )


def day_start(day: datetime.date) -> datetime.datetime:
    """The first moment of a local day: periods compare over the time's own index, never
    by converting every row's time to a local date."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


class ChangedResidents:
    """List creation (41): the persons with a version registered from `date_from` to
    `date_to` (both included, local time), each as its current version, annotated with
    `changed_in_period`: the time of its newest version in the period, and in that order
    (then by integrated number).

    Read in two steps, so that a page costs the period's narrow rows and not every listed
    person's wide ones: the order is the period's own versions grouped per person (over
    the registered_at index), and only the rows asked for are then read in full. With
    1,500,000 persons, a page and its count took 322 ms for a day's 9,043 changed persons
    and 2.0 s for a month's 132,276 read as one query; 58 ms and 1.1 s so
    (docs/operations.md). A paginator takes it as a sequence: `count()` and slices.
    """

    def __init__(self, *, date_from: datetime.date, date_to: datetime.date) -> None:
        self.in_period = (
            AddressVersion.objects.filter(
                registered_at__gte=day_start(date_from),
                registered_at__lt=day_start(date_to + datetime.timedelta(days=1)),
            )
            # A person merged into another has no current version: its representative is
            # listed instead (SPEC 10.4). They are few: a set to leave out, not a join.
            .exclude(person_id__in=Person.objects.filter(merged_into__isnull=False).values("pk"))
            .order_by()
        )
        self.order = (
            self.in_period.values("person_id", "person__integrated_number")
            .annotate(changed_in_period=Max("registered_at"))
            .order_by("changed_in_period", "person__integrated_number")
        )

    def count(self) -> int:
        return self.in_period.values("person_id").distinct().count()

    def __len__(self) -> int:
        return self.count()

    def __iter__(self) -> Iterator[AddressVersion]:
        return self.iterator()

    @overload
    def __getitem__(self, index: int) -> AddressVersion: ...
    @overload
    def __getitem__(self, index: slice) -> list[AddressVersion]: ...
    def __getitem__(self, index: int | slice) -> AddressVersion | list[AddressVersion]:
        if isinstance(index, slice):
            return self._versions(list(self.order[index]))
        found = self._versions([self.order[index]])
        if not found:
            raise IndexError(index)
        return found[0]

    def iterator(
        self, chunk_size: int = 2000, *, only: tuple[str, ...] = ()
    ) -> Iterator[AddressVersion]:
        """Every row in order, `chunk_size` at a time. An export names the `only` fields
        its file holds: a chunk of 2,000 is then read in 58 ms instead of 165 ms."""
        rows = self.order.iterator(chunk_size=chunk_size)
        while chunk := list(itertools.islice(rows, chunk_size)):
            yield from self._versions(chunk, only)

    def integrated_numbers(self) -> list[str]:
        return [row["person__integrated_number"] for row in self.order.iterator(chunk_size=2000)]

    @staticmethod
    def _versions(
        rows: Sequence[Mapping[str, Any]], only: tuple[str, ...] = ()
    ) -> list[AddressVersion]:
        read = AddressVersion.objects.current().filter(
            person_id__in=[row["person_id"] for row in rows]
        )
        if only:
            read = read.select_related("person").only("person_id", *only)
        else:
            read = read.select_related("person", "person__code_request")
        current = {version.person_id: version for version in read}
        versions = []
        for row in rows:
            version = current.get(row["person_id"])
            if version is None:  # merged between the two steps
                continue
            version.changed_in_period = row["changed_in_period"]  # type: ignore[attr-defined]
            versions.append(version)
        return versions


def changed_residents(*, date_from: datetime.date, date_to: datetime.date) -> ChangedResidents:
    """List creation (41): see ChangedResidents."""
    return ChangedResidents(date_from=date_from, date_to=date_to)


HEAVY_READING_WINDOW = datetime.timedelta(hours=1)
# A person opened: its page (every version, the links), its number revealed, or its lookup
# through the staff API (the path also takes the business systems' detail reads, which have no
# member of staff). A search's list of names is not counted: a clerk's ordinary search shows
# dozens at once.
_OPENED = Q(action__in=[AccessAction.PERSON_VIEW, AccessAction.REVEAL]) | Q(
    action=AccessAction.API_READ, path__startswith="/api/v1/persons/"
)


@dataclass(frozen=True)
class HeavyReader:
    """A member of staff who opened more persons in the last hour than the threshold."""

    username: str
    persons: int
    first_at: datetime.datetime
    last_at: datetime.datetime


def heavy_readers(
    *, now: datetime.datetime | None = None, threshold: int | None = None
) -> list[HeavyReader]:
    """The staff who opened more than `threshold` (ACCESS_ALERT_PERSONS_PER_HOUR) distinct
    persons in the hour to `now`, the most first: the insider browsing residents out of
    curiosity is seen the same day, not at the next reading of the audit. Business systems'
    keys are not counted (their reads are their work)."""
    threshold = settings.ACCESS_ALERT_PERSONS_PER_HOUR if threshold is None else threshold
    if threshold <= 0:
        return []
    now = now or timezone.now()
    opened: dict[str, set[str]] = {}
    first: dict[str, datetime.datetime] = {}
    last: dict[str, datetime.datetime] = {}
    for username, numbers, occurred_at in (
        AccessRecord.objects.filter(
            _OPENED,
            outcome=AccessOutcome.OK,
            user__isnull=False,
            occurred_at__gt=now - HEAVY_READING_WINDOW,
            occurred_at__lte=now,
        )
        .order_by()
        .values_list("username", "integrated_numbers", "occurred_at")
        .iterator(chunk_size=2000)
    ):
        opened.setdefault(username, set()).update(numbers)
        first[username] = min(first.get(username, occurred_at), occurred_at)
        last[username] = max(last.get(username, occurred_at), occurred_at)
    found = [
        HeavyReader(username, len(persons), first[username], last[username])
        for username, persons in opened.items()
        if len(persons) > threshold
    ]
    return sorted(found, key=lambda reader: (-reader.persons, reader.username))


@dataclass(frozen=True)
class WorkFigures:
    """The state of linkage's work, as the dashboard and /metrics show it."""

    computed_at: datetime.datetime
    # Code requests by (status, stage): the stage is "" outside `requesting`.
    request_counts: dict[tuple[str, str], int]
    changes_per_day: list[tuple[datetime.date, int]]  # the last 30 days, oldest first
    oldest_requesting_since: datetime.datetime | None
    pending_notices: int
    failing_notices: int  # pending after a failed attempt
    oldest_pending_notice_since: datetime.datetime | None
    # The last verification of the access records' chain, and whether it is overdue (the
    # daily job has not run for two days).
    audit_chain: AuditChainVerification | None = None
    audit_chain_overdue: bool = False
    # Staff who opened more persons in the last hour than ACCESS_ALERT_PERSONS_PER_HOUR
    # (shown to those who may read the access records).
    heavy_readers: tuple[HeavyReader, ...] = ()
    # New persons without a number still to be screened again (linkage.services.screening):
    # a backlog that grows says the sweep does not run.
    screening_due: int = 0

    @property
    def status_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(CodeRequestStatus.values, 0)
        for (status, _stage), count in self.request_counts.items():
            counts[status] = counts.get(status, 0) + count
        return counts


DASHBOARD_DAYS = 30
AUDIT_CHAIN_OVERDUE_AFTER = datetime.timedelta(days=2)
# Named by the fields too: a release that changes them never reads an older release's
# reading back from the shared cache.
WORK_FIGURES_KEY = "linkage:work-figures:" + ",".join(f.name for f in fields(WorkFigures))
# A day's count of versions is kept once the day has been over this long: versions are never
# deleted or moved, and by then every transaction that stamped one in it has committed.
DAY_SETTLED_AFTER = datetime.timedelta(hours=1)


def work_figures() -> WorkFigures:
    """The figures, read at most once per DASHBOARD_REFRESH_SECONDS for the installation
    (the shared cache): every open dashboard refreshes itself and every scrape asks, and at a
    city's scale a reading costs a table's index (code requests by status) each time."""
    return kept(
        WORK_FIGURES_KEY, settings.DASHBOARD_REFRESH_SECONDS, _work_figures_read, WorkFigures
    )


def _work_figures_read() -> WorkFigures:
    counts = {
        (row["status"], row["stage"] or ""): row["count"]
        for row in CodeRequest.objects.order_by()
        .values("status", "stage")
        .annotate(count=Count("pk"))
    }
    pending = Notice.objects.deliverable()
    notices = pending.aggregate(
        count=Count("pk"), failing=Count("pk", filter=Q(attempts__gt=0)), oldest=Min("created_at")
    )
    audit_chain = AuditChainVerification.objects.order_by("-pk").first()
    now = timezone.now()
    return WorkFigures(
        computed_at=now,
        request_counts=counts,
        changes_per_day=_changes_per_day(timezone.localdate(now)),
        oldest_requesting_since=CodeRequest.objects.filter(
            status=CodeRequestStatus.REQUESTING
        ).aggregate(oldest=Min("status_changed_at"))["oldest"],
        pending_notices=notices["count"],
        failing_notices=notices["failing"],
        oldest_pending_notice_since=notices["oldest"],
        audit_chain=audit_chain,
        audit_chain_overdue=audit_chain is not None
        and audit_chain.verified_at < now - AUDIT_CHAIN_OVERDUE_AFTER,
        heavy_readers=tuple(heavy_readers(now=now)),
        screening_due=ScreeningDue.objects.count(),
    )


def _changes_per_day(today: datetime.date) -> list[tuple[datetime.date, int]]:
    """Versions registered on each of the last 30 days. A settled day's count is kept for
    good; the others are counted over the registered_at index, each day by its own range
    (grouping by the local date converts every row's time: ten times slower at a million)."""
    days = [today - datetime.timedelta(days=n) for n in range(DASHBOARD_DAYS - 1, -1, -1)]
    settled_before = timezone.now() - DAY_SETTLED_AFTER
    settled = found_many([f"linkage:changes-on:{day}" for day in days])
    counts: dict[datetime.date, int] = {}
    for day in days:
        count = settled.get(f"linkage:changes-on:{day}")
        if not isinstance(count, int):
            end = day_start(day + datetime.timedelta(days=1))
            count = AddressVersion.objects.filter(
                registered_at__gte=day_start(day), registered_at__lt=end
            ).count()
            if end <= settled_before:
                keep(f"linkage:changes-on:{day}", count, 2 * DASHBOARD_DAYS * 86400)
        counts[day] = count
    return [(day, counts[day]) for day in days]
