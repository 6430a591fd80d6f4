"""SPEC 10.2: POST /api/v1/candidates, for business systems: best first, scored and explained
field by field, only above the review threshold, an access record each, no number in it."""

from __future__ import annotations

from typing import Any

import pytest

from linkage.models import AccessAction, AccessRecord
from tests.conftest import api_for, post_change
from tests.factories import KeyedClient, address_change_body

pytestmark = pytest.mark.django_db

URL = "/api/v1/candidates"

TAKAHASHI = {
    "name": "髙橋　一郎",
    "name_kana": "タカハシ　イチロウ",
    "birth_date": "1986-03-21",
    "sex": "1",
    "address": "横浜市中区本町1丁目2番3号",
}


def registered(keyed: KeyedClient, person: dict[str, Any], *, with_number: bool = True) -> str:
    body = address_change_body(number_system=keyed.number_system, person=person)
    if not with_number:
        del body["individual_number"]
    answer = post_change(keyed, body)
    assert answer.status_code == 201, answer.content
    return str(answer.json()["integrated_number"])


def search(keyed: KeyedClient, body: Any) -> Any:
    return api_for(keyed).post(URL, body, format="json")


def test_a_variant_spelling_finds_the_person_first_with_its_agreement(
    jyuki: KeyedClient, tax: KeyedClient
) -> None:
    wanted = registered(jyuki, TAKAHASHI)
    sibling = registered(
        jyuki,
        {
            **TAKAHASHI,
            "name": "髙橋　次郎",
            "name_kana": "タカハシ　ジロウ",
            "birth_date": "1988-07-02",
        },
    )
    registered(
        jyuki, {**TAKAHASHI, "name": "佐藤　花子", "name_kana": "サトウ　ハナコ", "sex": "2"}
    )
    answer = search(
        tax,
        {
            "person": {
                "name": "高橋一郎",
                "name_kana": "ﾀｶﾊｼ ｲﾁﾛｳ",
                "birth_date": "1986-03-12",
                "address": "横浜市中区本町一丁目2-3",
            }
        },
    )
    assert answer.status_code == 200, answer.content
    candidates = answer.json()["candidates"]
    assert candidates[0]["integrated_number"] == wanted
    assert candidates[0]["agreement"] == {
        "name": "variant",
        "name_kana": "exact",  # the API stores and compares kana full-width (SPEC 7.1)
        "birth_date": "similar",
        "sex": "missing",
        "address": "normalised",
    }
    assert candidates[0]["has_individual_number"] is True
    assert candidates[0]["number_systems"] == ["01"]
    assert candidates[0]["person"]["name"] == "髙橋　一郎"
    assert set(candidates[0]["weights"]) == set(candidates[0]["agreement"])
    assert sibling not in [c["integrated_number"] for c in candidates]  # below the threshold
    assert all(c["score"] >= 50 for c in candidates)
    scores = [c["score"] for c in candidates]
    assert scores == sorted(scores, reverse=True)


def test_a_person_without_a_number_is_found_and_marked_so(tax: KeyedClient) -> None:
    number = registered(tax, TAKAHASHI, with_number=False)
    candidates = search(
        tax, {"person": {"name_kana": "タカハシイチロウ", "birth_date": "1986-03-21"}}
    ).json()["candidates"]
    assert [c["integrated_number"] for c in candidates] == [number]
    assert candidates[0]["has_individual_number"] is False


def test_match_exact_narrows_a_field(jyuki: KeyedClient, tax: KeyedClient) -> None:
    registered(jyuki, TAKAHASHI)
    body = {"person": {"name": "高橋一郎", "birth_date": "1986-03-21"}}
    assert search(tax, body).json()["candidates"]
    narrowed = search(tax, {**body, "match": {"name": "exact"}}).json()["candidates"]
    assert narrowed == []  # 高橋 is 髙橋 only as a variant


def test_every_search_is_an_access_record_without_numbers(
    jyuki: KeyedClient, tax: KeyedClient
) -> None:
    wanted = registered(jyuki, TAKAHASHI)
    search(tax, {"person": {"name": "髙橋一郎", "birth_date": "1986-03-21"}})
    record = AccessRecord.objects.get(action=AccessAction.CANDIDATE_SEARCH)
    assert record.client_id == tax.client.pk
    assert record.integrated_numbers == [wanted]
    assert record.criteria["name"] == "髙橋一郎"


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({}, "person", "required"),
        ({"person": {"birth_date": "1986-03-21"}}, "person.name", "required"),
        (
            {"person": {"name": "山田", "birth_date": "1986-02-30"}},
            "person.birth_date",
            "not_a_date",
        ),
        ({"person": {"name": "山田", "sex": "3"}}, "person.sex", "invalid_choice"),
        ({"person": {"name": "山田"}, "match": {"name": "fuzzy"}}, "match.name", "invalid_choice"),
        (
            {"person": {"name": "山田", "individual_number": "123456789018"}},
            "person.individual_number",
            "unknown_field",
        ),
        ([], "", "invalid"),
    ],
)
def test_a_bad_search_is_400_naming_the_field(
    tax: KeyedClient, body: Any, field: str, code: str
) -> None:
    answer = search(tax, body)
    assert answer.status_code == 400, answer.content
    errors = answer.json()["errors"]
    assert (field, code) in [(e["field"], e["code"]) for e in errors], errors
    assert "123456789018" not in answer.content.decode()


def test_without_a_key_it_is_401() -> None:
    assert api_for(None).post(URL, {"person": {"name": "山田"}}, format="json").status_code == 401
