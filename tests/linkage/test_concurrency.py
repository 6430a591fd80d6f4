"""Concurrent arrivals with real threads and real database connections.

The race that matters: two systems send the first address change of one individual number at
the same moment. Both look the number up, both find nothing, both number a person. The unique
blind index lets one commit; the other retries, finds that person and stores an update.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection

from backbone.linkage_client import LinkageApiClient
from linkage.models import (
    AddressVersion,
    CodeRequest,
    CrossReference,
    Person,
    ReviewItem,
    ScreeningDue,
)
from linkage.services import pipeline, screening
from linkage.services.address_changes import AddressChangeResult
from linkage.services.pipeline import address_change_receive
from linkage.services.screening import Screened, screening_due_sweep
from tests.conftest import held_open, run_together
from tests.factories import KeyedClient, address_change_body, backbone_client, resident
from tests.linkage.services.test_address_change_receive import change_of

pytestmark = pytest.mark.django_db(transaction=True)

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite serialises writers at BEGIN IMMEDIATE, so two transactions cannot both "
    "reach numbering; the unforced tests below cover SQLite",
)


@pytest.fixture
def numbering_meets_in_the_middle(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Hold each thread's first numbering until two threads are there: both have determined
    the individual number unknown, so both will try to create the person."""
    meeting = threading.Barrier(2, timeout=10)
    seen = threading.local()
    real_issue = pipeline.integrated_numbers_issue

    def issue_after_meeting(count: int) -> list[str]:
        if not getattr(seen, "met", False):
            seen.met = True
            meeting.wait()
        return real_issue(count)

    monkeypatch.setattr(pipeline, "integrated_numbers_issue", issue_after_meeting)
    yield


def receive_job(keyed: KeyedClient, body: dict[str, Any]) -> Callable[[], AddressChangeResult]:
    change = change_of(keyed, body)
    return lambda: address_change_receive(client=keyed.client, change=change)


@postgresql_only
@pytest.mark.usefixtures("numbering_meets_in_the_middle")
def test_forced_race_of_two_first_arrivals_yields_one_person() -> None:
    jyuki, tax = backbone_client(number_system="01"), backbone_client(number_system="02")
    someone = resident()
    results, errors = run_together(
        [
            receive_job(jyuki, address_change_body(resident=someone)),
            receive_job(tax, address_change_body(number_system="02", resident=someone)),
        ]
    )
    assert errors == []
    assert sorted(r.result for r in results) == ["registered", "updated"]
    assert len({r.body["integrated_number"] for r in results}) == 1
    assert Person.objects.count() == 1
    assert CodeRequest.objects.count() == 1
    assert sorted(AddressVersion.objects.values_list("history_seq", flat=True)) == [1, 2]


@postgresql_only
@pytest.mark.usefixtures("numbering_meets_in_the_middle")
def test_forced_race_of_one_event_sent_twice_stores_it_once() -> None:
    jyuki = backbone_client(number_system="01")
    body = address_change_body()
    results, errors = run_together([receive_job(jyuki, body), receive_job(jyuki, body)])
    assert errors == []
    assert [r.result for r in results] == ["registered", "registered"]
    assert results[0].body == results[1].body
    assert AddressVersion.objects.count() == 1


@postgresql_only
@pytest.mark.usefixtures("numbering_meets_in_the_middle")
def test_forced_race_for_one_address_number_gives_it_to_one_person() -> None:
    jyuki = backbone_client(number_system="01")
    results, errors = run_together(
        [
            receive_job(jyuki, address_change_body(address_number="4711")),
            receive_job(jyuki, address_change_body(address_number="4711")),
        ]
    )
    assert [r.result for r in results] == ["registered"]
    assert [type(e).__name__ for e in errors] == ["AddressNumberConflict"]
    assert Person.objects.count() == 1
    assert CrossReference.objects.count() == 1


def test_many_systems_at_once_yield_one_person_per_individual_number() -> None:
    systems = [backbone_client(number_system=ns) for ns in ("01", "02", "03", "04")]
    people = [resident() for _ in range(5)]
    jobs = [
        receive_job(keyed, address_change_body(number_system=keyed.number_system, resident=someone))
        for someone in people
        for keyed in systems
    ]
    results, errors = run_together(jobs)
    assert errors == []
    assert sorted(r.result for r in results) == ["registered"] * 5 + ["updated"] * 15
    assert Person.objects.count() == CodeRequest.objects.count() == 5
    for person in Person.objects.all():
        seqs = sorted(person.versions.values_list("history_seq", flat=True))
        assert seqs == [1, 2, 3, 4]


def test_concurrent_http_requests_never_fail(live_server: Any) -> None:
    """Real HTTP, 8 connections at once: no 5xx, no "database is locked", nothing lost."""
    jyuki = backbone_client(number_system="01")
    api = LinkageApiClient(live_server.url, jyuki.key, timeout=60)
    bodies = [[address_change_body() for _ in range(6)] for _ in range(8)]

    def sender(batch: list[dict[str, Any]]) -> Callable[[], list[int]]:
        return lambda: [api.address_change_send(body).status for body in batch]

    results, errors = run_together([sender(batch) for batch in bodies])
    assert errors == []
    assert sorted(status for statuses in results for status in statuses) == [201] * 48
    assert Person.objects.count() == 48


def _without_number(body: dict[str, Any]) -> dict[str, Any]:
    del body["individual_number"]
    return body


def test_concurrent_first_arrivals_without_a_number_link_to_one_person() -> None:
    """SPEC 10.1 (c): 税, 国保 and 福祉 each link their own address number of one person,
    without its individual number, at the same moment. The person's row lock serialises them:
    one person, three links, history_seq 2, 3, 4 each once."""
    jyuki = backbone_client(number_system="01")
    someone = resident()
    known = address_change_receive(
        client=jyuki.client, change=change_of(jyuki, address_change_body(resident=someone))
    )
    systems = [backbone_client(number_system=ns) for ns in ("02", "03", "04")]
    resolution = {"mode": "link", "integrated_number": known.integrated_number}
    results, errors = run_together(
        [
            receive_job(
                keyed,
                _without_number(
                    address_change_body(
                        number_system=keyed.number_system, resident=someone, resolution=resolution
                    )
                ),
            )
            for keyed in systems
        ]
    )
    assert errors == []
    assert [r.result for r in results] == ["updated"] * 3
    assert {r.integrated_number for r in results} == {known.integrated_number}
    assert Person.objects.count() == 1
    assert CrossReference.objects.count() == 4
    assert sorted(AddressVersion.objects.values_list("history_seq", flat=True)) == [1, 2, 3, 4]


def test_concurrent_arrivals_of_one_number_on_two_numberless_persons_merge_once() -> None:
    """Two persons without a number; the same individual number arrives on both at once. One
    attaches it; the other meets the unique index, retries, and is merged into the first."""
    tax, nhi = backbone_client(number_system="02"), backbone_client(number_system="03")
    someone = resident()
    bodies = []
    for keyed in (tax, nhi):
        first = _without_number(
            address_change_body(
                number_system=keyed.number_system, resident=someone, resolution={"mode": "new"}
            )
        )
        address_change_receive(client=keyed.client, change=change_of(keyed, first))
        bodies.append(
            (
                keyed,
                address_change_body(
                    number_system=keyed.number_system,
                    resident=someone,
                    address_number=first["address_number"],
                ),
            )
        )
    results, errors = run_together([receive_job(keyed, body) for keyed, body in bodies])
    assert errors == []
    assert len({r.integrated_number for r in results}) == 1
    holders = Person.objects.filter(individual_number_index__isnull=False)
    assert holders.count() == 1
    assert Person.objects.filter(merged_into=holders.get()).count() == 1
    assert CodeRequest.objects.count() == 1


@pytest.fixture
def screening_meets_in_the_middle(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Hold each thread after its duplicate screening until two threads have screened: each
    has looked for the other before the other was stored."""
    meeting = threading.Barrier(2, timeout=10)
    real_screening = pipeline.screening

    def screening_then_meeting(plan: pipeline.Plan) -> None:
        real_screening(plan)
        meeting.wait()

    monkeypatch.setattr(pipeline, "screening", screening_then_meeting)
    yield


@postgresql_only
@pytest.mark.usefixtures("screening_meets_in_the_middle")
def test_one_person_without_a_number_registered_by_two_systems_at_once_is_found_again() -> None:
    """SPEC 10.3: 税 and 福祉 register one person without its individual number at the same
    moment. Neither transaction can see the other's new person, so neither screening finds a
    candidate; the screening again after commit does, and opens one review item."""
    tax, welfare = backbone_client(number_system="02"), backbone_client(number_system="04")
    someone = resident()
    results, errors = run_together(
        [
            receive_job(
                keyed,
                _without_number(
                    address_change_body(number_system=keyed.number_system, resident=someone)
                ),
            )
            for keyed in (tax, welfare)
        ]
    )
    assert errors == []
    assert [r.result for r in results] == ["registered"] * 2
    assert [r.possible_duplicates for r in results] == [0, 0]  # each looked too early
    assert not ReviewItem.objects.exists()

    assert screening_due_sweep() == Screened(persons=2, opened=1)

    item = ReviewItem.objects.get()
    assert item.kind == ReviewItem.Kind.POSSIBLE_DUPLICATE
    pair = Person.objects.filter(pk__in=[item.person_id, item.other_id])
    assert set(pair.values_list("integrated_number", flat=True)) == {
        r.integrated_number for r in results
    }
    assert not ScreeningDue.objects.exists()


@postgresql_only
def test_a_sweep_leaves_the_screening_to_the_one_already_screening() -> None:
    """Two sweeps side by side, each screening one of a pair, would each open the pair. The
    second finds the first at work and leaves the due persons to it."""
    tax = backbone_client(number_system="02")
    someone = resident()
    for address_number in ("801", "802"):
        body = address_change_body(
            number_system="02", address_number=address_number, resident=someone
        )
        address_change_receive(client=tax.client, change=change_of(tax, _without_number(body)))
    ScreeningDue.objects.all().delete()  # only the later one is due, as after a sweep
    later = Person.objects.order_by("pk").last()
    assert later is not None
    ScreeningDue.objects.create(person=later)
    ReviewItem.objects.all().delete()  # as if the write path had not seen the first

    def first_sweep_at_work() -> None:
        assert screening._alone()

    with held_open(first_sweep_at_work):
        assert screening_due_sweep() == Screened(persons=0, opened=0)
        assert ScreeningDue.objects.count() == 1

    assert screening_due_sweep() == Screened(persons=1, opened=1)
