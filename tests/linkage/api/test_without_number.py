"""SPEC 7.1 and 10.1: changes without an individual number (住登外者), `resolution`, the number
arriving later (attached, or an automatic merge into its holder), and the refusals."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from linkage.models import (
    CodeRequest,
    CrossReference,
    Notice,
    NoticeEvent,
    Person,
    PersonMerge,
    ReviewItem,
)
from tests.conftest import api_for, linkage_table_counts, post_change
from tests.factories import KeyedClient, address_change_body, backbone_client, resident

pytestmark = pytest.mark.django_db

CALLBACK = "http://192.0.2.1/linkage-notices"


def without_number(number_system: str, **overrides: Any) -> dict[str, Any]:
    body = address_change_body(number_system=number_system, **overrides)
    del body["individual_number"]
    return body


def test_a_change_without_a_number_numbers_a_new_person_with_no_code_request(
    tax: KeyedClient,
) -> None:
    answer = post_change(tax, without_number("02"))
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["result"] == "registered"
    assert body["code_request_status"] == "not_requested"
    assert body["possible_duplicates"] == 0
    person = Person.objects.get(integrated_number=body["integrated_number"])
    assert person.individual_number_index is None and not person.has_individual_number
    assert not CodeRequest.objects.exists()
    read = api_for(tax).get(f"/api/v1/persons/{person.integrated_number}").json()
    assert read["has_individual_number"] is False
    assert read["code_request_status"] == "not_requested"
    assert read["merged_integrated_numbers"] == []


def test_null_is_absent_and_an_empty_string_is_refused(tax: KeyedClient) -> None:
    assert (
        post_change(
            tax, address_change_body(number_system="02", individual_number=None)
        ).status_code
        == 201
    )
    before = linkage_table_counts()
    answer = post_change(tax, address_change_body(number_system="02", individual_number=""))
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["field"] == "individual_number"
    assert linkage_table_counts() == before


def test_a_later_change_on_the_same_address_number_updates_the_same_person(
    tax: KeyedClient,
) -> None:
    first = without_number("02")
    registered = post_change(tax, first).json()
    later = copy.deepcopy(first)
    later["event_id"] = "moved"
    later["person"]["address"] = "横浜市中区本町1丁目1番地"
    answer = post_change(tax, later).json()
    assert answer["result"] == "updated"
    assert answer["integrated_number"] == registered["integrated_number"]
    assert answer["history_seq"] == 2
    assert Person.objects.count() == 1


def test_resolution_link_joins_an_existing_person(jyuki: KeyedClient, tax: KeyedClient) -> None:
    someone = resident()
    known = post_change(jyuki, address_change_body(number_system="01", resident=someone)).json()
    body = without_number(
        "02",
        resident=someone,
        resolution={"mode": "link", "integrated_number": known["integrated_number"]},
    )
    answer = post_change(tax, body)
    assert answer.status_code == 200, answer.content
    assert answer.json()["integrated_number"] == known["integrated_number"]
    assert answer.json()["code_request_status"] == "requesting"
    assert Person.objects.count() == 1
    assert (
        CrossReference.objects.filter(number_system="02").get().person.integrated_number
        == (known["integrated_number"])
    )


def test_resolution_new_issues_a_new_number_even_with_a_twin(tax: KeyedClient) -> None:
    someone = resident()
    post_change(tax, without_number("02", resident=someone))
    answer = post_change(tax, without_number("02", resident=someone, resolution={"mode": "new"}))
    assert answer.status_code == 201
    assert answer.json()["possible_duplicates"] == 1
    assert Person.objects.count() == 2
    item = ReviewItem.objects.get(kind=ReviewItem.Kind.POSSIBLE_DUPLICATE)
    assert item.person.integrated_number == answer.json()["integrated_number"]
    assert item.score is not None and item.score >= 50
    assert item.agreement["name"] == "exact"


@pytest.mark.parametrize(
    ("resolution", "field", "code"),
    [
        (
            {"mode": "link", "integrated_number": "000000009999990"},
            "resolution.integrated_number",
            "unknown_person",
        ),
        (
            {"mode": "link", "integrated_number": "000000009999991"},
            "resolution.integrated_number",
            "check_digit",
        ),
        ({"mode": "link"}, "resolution.integrated_number", "required"),
        ({"mode": "merge"}, "resolution.mode", "invalid_choice"),
        (
            {"mode": "new", "integrated_number": "000000009999990"},
            "resolution.integrated_number",
            "not_allowed",
        ),
    ],
)
def test_a_bad_resolution_is_400_and_stores_nothing(
    tax: KeyedClient, resolution: dict[str, Any], field: str, code: str
) -> None:
    before = linkage_table_counts()
    answer = post_change(tax, without_number("02", resolution=resolution))
    assert answer.status_code == 400, answer.content
    errors = answer.json()["errors"]
    assert (errors[0]["field"], errors[0]["code"]) == (field, code), errors
    assert linkage_table_counts() == before


def test_resolution_to_a_person_with_another_number_is_409(
    jyuki: KeyedClient, tax: KeyedClient
) -> None:
    known = post_change(jyuki, address_change_body(number_system="01")).json()
    before = linkage_table_counts()
    body = address_change_body(
        number_system="02",
        resolution={"mode": "link", "integrated_number": known["integrated_number"]},
    )
    answer = post_change(tax, body)
    assert answer.status_code == 409
    assert answer.json()["errors"][0]["code"] == "individual_number_mismatch"
    assert linkage_table_counts() == before


def test_the_number_arriving_later_is_attached_and_the_code_request_starts(
    tax: KeyedClient,
) -> None:
    someone = resident()
    first = without_number("02", resident=someone)
    registered = post_change(tax, first).json()
    assert not CodeRequest.objects.exists()
    later = address_change_body(
        number_system="02", resident=someone, address_number=first["address_number"]
    )
    answer = post_change(tax, later).json()
    assert answer["integrated_number"] == registered["integrated_number"]
    assert answer["code_request_status"] == "requesting"
    person = Person.objects.get()
    assert person.has_individual_number and person.individual_number == someone.individual_number
    assert CodeRequest.objects.filter(person=person).count() == 1
    # The same number again: nothing more is requested (claim 2).
    again = address_change_body(
        number_system="02", resident=someone, address_number=first["address_number"]
    )
    again["person"]["address"] = "川崎市川崎区宮本町1番地"
    assert post_change(tax, again).status_code == 200
    assert CodeRequest.objects.count() == 1


def test_a_different_number_for_a_linked_address_number_is_409(tax: KeyedClient) -> None:
    first = address_change_body(number_system="02")
    post_change(tax, first)
    before = linkage_table_counts()
    other = address_change_body(number_system="02", address_number=first["address_number"])
    answer = post_change(tax, other)
    assert answer.status_code == 409
    assert answer.json()["errors"][0]["code"] == "address_number_taken"
    assert linkage_table_counts() == before


def test_a_number_held_by_another_person_merges_the_two_automatically() -> None:
    jyuki = backbone_client(number_system="01", callback_url=CALLBACK)
    tax = backbone_client(number_system="02", callback_url=CALLBACK)
    someone = resident()
    holder = post_change(jyuki, address_change_body(number_system="01", resident=someone)).json()
    first = without_number("02", resident=someone)
    numberless = post_change(tax, first).json()
    assert numberless["integrated_number"] != holder["integrated_number"]

    arrives = address_change_body(
        number_system="02", resident=someone, address_number=first["address_number"]
    )
    answer = post_change(tax, arrives)
    assert answer.status_code == 200, answer.content
    assert answer.json()["integrated_number"] == holder["integrated_number"]

    merged = Person.objects.get(integrated_number=numberless["integrated_number"])
    assert merged.merged_into is not None
    assert merged.merged_into.integrated_number == holder["integrated_number"]
    record = PersonMerge.objects.get()
    assert record.cause == PersonMerge.Cause.INDIVIDUAL_NUMBER and record.automatic
    assert record.links == [{"number_system": "02", "address_number": first["address_number"]}]
    assert ReviewItem.objects.get(kind=ReviewItem.Kind.AUTOMATIC_MERGE).merge == record
    notices = Notice.objects.filter(event=NoticeEvent.PERSON_MERGED)
    assert {n.client.number_system for n in notices} == {"01", "02"}
    tax_notice = notices.get(client=tax.client)
    assert tax_notice.payload["integrated_number"] == holder["integrated_number"]
    assert tax_notice.payload["merged_integrated_number"] == numberless["integrated_number"]
    assert tax_notice.payload["address_numbers"] == [first["address_number"]]
    # The old number still resolves, to the representative.
    read = api_for(tax).get(f"/api/v1/persons/{numberless['integrated_number']}").json()
    assert read["integrated_number"] == holder["integrated_number"]
    assert read["merged_integrated_numbers"] == [numberless["integrated_number"]]
    assert {(link["number_system"], link["address_number"]) for link in read["links"]} == {
        ("01", holder["address_number"]),
        ("02", first["address_number"]),
    }
    # A later change on the merged person's address number is the representative's.
    later = copy.deepcopy(first)
    later["event_id"] = "after-merge"
    later["person"]["address"] = "横浜市鶴見区鶴見中央3丁目20番1号"
    assert post_change(tax, later).json()["integrated_number"] == holder["integrated_number"]


def test_a_merged_away_number_in_resolution_is_unknown_person(tax: KeyedClient) -> None:
    jyuki = backbone_client(number_system="01")
    someone = resident()
    post_change(jyuki, address_change_body(number_system="01", resident=someone))
    first = without_number("02", resident=someone)
    numberless = post_change(tax, first).json()
    post_change(
        tax,
        address_change_body(
            number_system="02", resident=someone, address_number=first["address_number"]
        ),
    )
    answer = post_change(
        tax,
        without_number(
            "02", resolution={"mode": "link", "integrated_number": numberless["integrated_number"]}
        ),
    )
    assert answer.status_code == 400
    error = answer.json()["errors"][0]
    assert error["code"] == "unknown_person" and "merged" in error["message"]


def test_two_address_numbers_of_one_system_on_one_person_open_a_review_item(
    jyuki: KeyedClient, tax: KeyedClient
) -> None:
    known = post_change(tax, without_number("02")).json()
    body = without_number(
        "02", resolution={"mode": "link", "integrated_number": known["integrated_number"]}
    )
    assert post_change(tax, body).status_code == 200
    item = ReviewItem.objects.get(kind=ReviewItem.Kind.DUPLICATE_ADDRESS_NUMBER)
    assert item.number_system == "02"
    assert item.person.integrated_number == known["integrated_number"]


def test_a_repeat_of_a_change_without_a_number_answers_the_same(tax: KeyedClient) -> None:
    body = without_number("02", resolution={"mode": "new"})
    first = post_change(tax, body)
    again = post_change(tax, body)
    assert again.status_code == first.status_code == 201
    assert again.json() == first.json()
    changed = copy.deepcopy(body)
    changed["resolution"] = {"mode": "link", "integrated_number": first.json()["integrated_number"]}
    assert post_change(tax, changed).status_code == 409
