"""The staff API's search and moved-resident list: the screens' filters and selectors."""

from __future__ import annotations

import datetime
import zoneinfo
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from linkage.models import AddressVersion
from tests.conftest import api_for, bearer
from tests.factories import KeyedClient
from tests.residents import Registered, change, register, signed_in

SEARCH = "/api/v1/persons"
LOOKUP = "/api/v1/persons/lookup"
MOVED = "/api/v1/moved-residents"


@pytest.fixture
def residents(jyuki: KeyedClient) -> list[Registered]:
    return [
        register(jyuki, name="山田 太郎", name_kana="ヤマダ タロウ", address="横浜市中区1"),
        register(jyuki, name="山田 花子", name_kana="ヤマダ ハナコ", address="横浜市西区2"),
        register(jyuki, name="佐藤 一", name_kana="サトウ ハジメ", address="川崎市3"),
    ]


def test_search_by_kana_in_hiragana_with_a_staff_token(
    residents: list[Registered], clerk: Any
) -> None:
    response = bearer(clerk).get(SEARCH, {"name": "やまだ", "ordering": "name_kana"})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    # Stored with the space as 氏名 has it (SPEC 7.1).
    assert [row["name_kana"] for row in body["results"]] == [
        "ヤマダ\u3000タロウ",
        "ヤマダ\u3000ハナコ",
    ]
    first = body["results"][0]
    assert set(first) == {
        "integrated_number",
        "name",
        "name_kana",
        "birth_date",
        "sex",
        "address",
        "history_seq",
        "registered_at",
        "code_request_status",
    }
    assert first["code_request_status"] == "requesting"


def test_an_ordering_of_nothing_but_commas_is_the_default_order(
    residents: list[Registered], clerk: Any
) -> None:
    response = bearer(clerk).get(SEARCH, {"address": "市", "ordering": ","})
    assert response.status_code == 200
    numbers = [row["integrated_number"] for row in response.json()["results"]]
    assert numbers == sorted(r.integrated_number for r in residents)


@pytest.mark.parametrize("ordering", ["name_kana", "-name_kana", "birth_date"])
def test_persons_of_one_kana_keep_their_places_from_page_to_page(
    jyuki: KeyedClient, clerk: Any, ordering: str
) -> None:
    """Equal sort values are ordered by integrated number: page by page, each person once,
    whatever order the rows are stored in (the first two moved: their current versions are
    now stored after the others')."""
    twins = [
        register(jyuki, name="鈴木 一郎", name_kana="スズキ イチロウ", birth_date="1980-01-01")
        for _ in range(4)
    ]
    for twin in twins[:2]:
        change(jyuki, twin, address="横浜市港北区9")
    client = bearer(clerk)
    seen = []
    for page in (1, 2, 3, 4):
        response = client.get(
            SEARCH, {"name": "すずき", "ordering": ordering, "page_size": 1, "page": page}
        )
        assert response.status_code == 200
        seen += [row["integrated_number"] for row in response.json()["results"]]
    assert seen == sorted(twin.integrated_number for twin in twins)


def test_search_answers_the_same_rows_as_the_screen(
    residents: list[Registered], clerk: Any
) -> None:
    criteria = {"address": "横浜", "ordering": "-name_kana"}
    api = [
        row["integrated_number"] for row in bearer(clerk).get(SEARCH, criteria).json()["results"]
    ]
    screen = signed_in(clerk).get("/persons/", criteria).context["page"]
    assert api == [version.person.integrated_number for version in screen]
    assert len(api) == 2


def test_search_refuses_no_criterion_and_bad_values_as_problem_json(
    residents: list[Registered], clerk: Any
) -> None:
    client = bearer(clerk)
    empty = client.get(SEARCH)
    assert empty.status_code == 400
    assert empty["Content-Type"] == "application/problem+json"
    assert empty.json()["errors"] == [
        {"field": "", "code": "no_criteria", "message": "Enter at least one search criterion."}
    ]
    bad = client.get(SEARCH, {"integrated_number": "12"})
    assert bad.status_code == 400
    assert [e["field"] for e in bad.json()["errors"]] == ["integrated_number"]
    # A variation selector alone is nothing to search by (it would have listed everyone).
    nothing = client.get(SEARCH, {"name": "\U000e0100"})
    assert nothing.status_code == 400
    assert [(e["field"], e["code"]) for e in nothing.json()["errors"]] == [
        ("name", "nothing_to_search")
    ]


def test_lookup_by_individual_number_is_a_post(residents: list[Registered], clerk: Any) -> None:
    client = bearer(clerk)
    found = client.post(
        LOOKUP, {"individual_number": residents[2].individual_number}, format="json"
    )
    assert found.status_code == 200
    assert found.json()["integrated_number"] == residents[2].integrated_number
    assert residents[2].individual_number not in found.content.decode()
    missing = client.post(LOOKUP, {"individual_number": "123456789018"}, format="json")
    assert missing.status_code == 404
    assert "123456789018" not in missing.content.decode()
    invalid = client.post(LOOKUP, {"individual_number": "123456789012"}, format="json")
    assert invalid.status_code == 400
    assert "123456789012" not in invalid.content.decode()
    assert client.get(LOOKUP).status_code == 405


def test_moved_residents_in_a_period(residents: list[Registered], supervisor: Any) -> None:
    old = datetime.datetime(2026, 11, 1, 12, tzinfo=zoneinfo.ZoneInfo("Asia/Tokyo"))
    AddressVersion.objects.filter(person=residents[0].person).update(registered_at=old)
    response = bearer(supervisor).get(MOVED, {"from": "2026-11-01", "to": "2026-11-01"})
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["integrated_number"] for row in rows] == [residents[0].integrated_number]
    assert rows[0]["changed_in_period"] == "2026-11-01T12:00:00+09:00"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({}, "from"),
        ({"from": "2026-11-01"}, "to"),
        ({"from": "2026-11-02", "to": "2026-11-01"}, "to"),
        ({"from": "2025-01-01", "to": "2026-11-01"}, "to"),
        ({"from": "2026-02-30", "to": "2026-03-01"}, "from"),
    ],
)
def test_moved_residents_refuses_a_bad_period(
    db: None, supervisor: Any, query: dict[str, str], field: str
) -> None:
    response = bearer(supervisor).get(MOVED, query)
    assert response.status_code == 400
    assert field in [e["field"] for e in response.json()["errors"]]


def test_the_staff_endpoints_need_the_role_s_permission(
    residents: list[Registered], clerk: Any, jyuki: KeyedClient
) -> None:
    # A clerk searches but cannot export the moved-resident list.
    assert bearer(clerk).get(SEARCH, {"name": "山田"}).status_code == 200
    assert bearer(clerk).get(MOVED, {"from": "2026-11-01", "to": "2026-11-01"}).status_code == 403
    # A backbone system's key is not a staff token.
    assert api_for(jyuki).get(SEARCH, {"name": "山田"}).status_code in (401, 403)
    assert api_for(None).get(SEARCH, {"name": "山田"}).status_code == 401


def test_the_schema_documents_the_staff_endpoints(db: None) -> None:
    text = api_for(None).get("/api/schema/").content.decode()
    for path in ("/api/v1/persons:", "/api/v1/persons/lookup:", "/api/v1/moved-residents:"):
        assert path in text
    assert "birth_date_from" in text and "ordering" in text


def test_the_staff_lists_take_a_fixed_number_of_queries(
    jyuki: KeyedClient, supervisor: Any
) -> None:
    client = bearer(supervisor)
    today = timezone.localdate().isoformat()
    counts: dict[str, list[int]] = {"search": [], "moved": []}
    for total in (2, 25):
        while AddressVersion.objects.count() < total:
            register(jyuki, address="横浜市栄区")
        for name, url, query in (
            ("search", SEARCH, {"address": "栄区"}),
            ("moved", MOVED, {"from": today, "to": today}),
        ):
            with CaptureQueriesContext(connection) as captured:
                assert client.get(url, query).json()["count"] == total
            counts[name].append(len(captured.captured_queries))
    assert counts["search"][0] == counts["search"][1], counts
    assert counts["moved"][0] == counts["moved"][1], counts
