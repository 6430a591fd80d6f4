"""Reads compiled once (linkage.compiled): each later call sends the compiled text with its
own arguments and gives what the read built afresh gives, model instances and related rows
included; a read whose parameters are not its arguments is built every time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.models import QuerySet
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from linkage import compiled as compiled_module
from linkage.compiled import compiled
from linkage.models import BusinessInformation, CodeRequest, Person
from tests.conftest import post_change
from tests.factories import KeyedClient, address_change_body

pytestmark = pytest.mark.django_db

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="compiled on PostgreSQL only (IN elsewhere)"
)


@pytest.fixture(autouse=True)
def nothing_compiled(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(compiled_module, "_compiled", {})
    yield


@pytest.fixture
def stored(jyuki: KeyedClient) -> list[Person]:
    for number in ("1", "2", "3"):
        business = {"data_type": "household", "items": {"household_number": f"H{number}"}}
        body = address_change_body(address_number=number, business=business)
        assert post_change(jyuki, body).status_code == 201
    return list(Person.objects.order_by("pk"))


class Builds:
    """A read's builder that counts how often it is called."""

    def __init__(self, build: Any) -> None:
        self.build, self.calls = build, 0

    def __call__(self, *arguments: Any) -> QuerySet[Any, Any]:
        self.calls += 1
        return self.build(*arguments)


def persons_with_requests(pks: list[int]) -> QuerySet[Person]:
    return Person.objects.select_related("code_request").filter(pk__any=pks).order_by("pk")


def test_each_call_gives_what_the_read_built_afresh_gives(stored: list[Person]) -> None:
    builds = Builds(persons_with_requests)
    first, second, third = stored
    for pks in ([first.pk], [second.pk, third.pk, 10**9], [], [third.pk, first.pk]):
        found = list(compiled("persons", builds, pks))
        assert found == list(persons_with_requests(pks))
        with CaptureQueriesContext(connection) as queries:
            statuses = [person.code_request.status for person in found]
        assert len(queries) == 0  # select_related filled in as for any queryset
        assert statuses == [CodeRequest.objects.get(person=person).status for person in found]
    # Built once on PostgreSQL (to compile), every time elsewhere.
    assert builds.calls == (1 if connection.vendor == "postgresql" else 4)


def test_value_rows_take_the_fields_converters(stored: list[Person]) -> None:
    def items(number_system: str, pks: list[int]) -> QuerySet[Any, Any]:
        return BusinessInformation.objects.filter(
            number_system=number_system, person_id__any=pks
        ).values_list("person_id", "items", "registered_at")

    pks = [person.pk for person in stored]
    for wanted in (pks[:1], pks[1:]):
        rows = sorted(compiled("items", items, "01", wanted))
        assert rows == sorted(items("01", wanted))
        assert [person_id for person_id, _, _ in rows] == wanted
        assert all(isinstance(row[1], dict) and row[1] for row in rows)  # JSON decoded
    assert list(compiled("items", items, "99", pks)) == []  # another system's


@on_postgresql
def test_later_calls_send_the_compiled_text_with_their_own_arguments(
    stored: list[Person],
) -> None:
    first, second, _ = stored
    texts = []
    for pks in ([first.pk], [first.pk, second.pk]):
        with CaptureQueriesContext(connection) as queries:
            assert len(list(compiled("persons", persons_with_requests, pks))) == len(pks)
        (query,) = queries.captured_queries
        texts.append(query["sql"])
    assert texts[0] != texts[1]  # each its own values ...
    assert texts[0].split("ANY(")[0] == texts[1].split("ANY(")[0]  # ... in the same statement


@on_postgresql
def test_a_read_whose_parameters_are_not_its_arguments_is_built_every_time(
    stored: list[Person],
) -> None:
    def with_a_constant(pks: list[int]) -> QuerySet[Person]:
        return Person.objects.filter(pk__any=pks, merged_into__isnull=True).exclude(
            integrated_number="000000000000000"
        )

    builds = Builds(with_a_constant)
    first, second, _ = stored
    assert list(compiled("constant", builds, [first.pk])) == [first]
    assert list(compiled("constant", builds, [second.pk])) == [second]
    assert builds.calls == 3  # once to try compiling, then every call
    assert compiled_module._compiled["constant"] is None


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_locking_read_still_needs_a_transaction(stored: list[Person]) -> None:
    def locked(pks: list[int]) -> QuerySet[Person]:
        return Person.objects.select_for_update().filter(pk__any=pks)

    with transaction.atomic():
        assert len(list(compiled("locked", locked, [stored[0].pk]))) == 1
    with pytest.raises(TransactionManagementError):
        list(compiled("locked", locked, [stored[0].pk]))
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        list(compiled("locked", locked, [stored[1].pk]))
    assert queries.captured_queries[0]["sql"].endswith("FOR UPDATE")


@on_postgresql
def test_determinations_reads_all_compile(jyuki: KeyedClient) -> None:
    """A registration, then an update with business items: every read determination makes
    for them is compiled (None would mean one is built every time)."""
    body = address_change_body(address_number="7")
    assert post_change(jyuki, body).status_code == 201
    business = {"data_type": "household", "items": {"household_number": "H7"}}
    moved = {**body, "event_id": "moved-7", "business": business}
    moved["person"] = {**body["person"], "address": "東京都千代田区丸の内一丁目1番1号"}
    assert post_change(jyuki, moved).status_code == 200
    assert set(compiled_module._compiled) == {
        "persons by blind index",
        ("links", 1, False),
        ("links", 1, True),
        "persons merged into",
        "versions of persons",
        "business items of persons",
    }
    assert None not in compiled_module._compiled.values()
