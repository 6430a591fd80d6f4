"""`POST /api/v1/copies` and `GET/PUT/DELETE /api/v1/copies/<copy_id>` (副本登録, SPEC 11):
what is accepted, what is refused with which reason, and that a refusal stores nothing."""

from __future__ import annotations

from typing import Any

import pytest

from linkage.models import CodeRequest, CodeRequestStatus, Copy
from tests.conftest import api_for, linkage_table_counts, post_change
from tests.factories import KeyedClient, address_change_body

pytestmark = pytest.mark.django_db

COPIES = "/api/v1/copies"


def linked(keyed: KeyedClient, address_number: str, **overrides: Any) -> None:
    """A person linked to `keyed`'s system under `address_number`."""
    body = address_change_body(
        number_system=keyed.number_system, address_number=address_number, **overrides
    )
    assert post_change(keyed, body).status_code == 201


def copy_body(address_number: str = "550001", **overrides: Any) -> dict[str, Any]:
    return {
        "event_id": f"copy-{address_number}",
        "number_system": "02",
        "address_number": address_number,
        "data_set": "local_tax_income",
        "record_key": f"2026-{address_number}",
        "items": {"fiscal_year": 2026, "taxable_income": 3120000},
        "valid_from": "2026-06-01",
        **overrides,
    }


def register(keyed: KeyedClient, body: dict[str, Any]) -> Any:
    return api_for(keyed).post(COPIES, body, format="json")


def error_of(answer: Any) -> tuple[str, str]:
    (error,) = answer.json()["errors"]
    return error["field"], error["code"]


def test_a_copy_of_a_person_without_a_code_waits_for_it(tax: KeyedClient) -> None:
    linked(tax, "550001")
    answer = register(tax, copy_body())
    assert answer.status_code == 202
    body = answer.json()
    assert (body["status"], body["revision"], body["data_set"]) == (
        "waiting_for_code",
        1,
        "local_tax_income",
    )
    copy = Copy.objects.get()
    assert str(copy.copy_id) == body["copy_id"]
    assert body["integrated_number"] == copy.person.integrated_number
    assert "individual_number" not in answer.content.decode()


def test_a_copy_of_a_person_with_a_code_is_sent(tax: KeyedClient) -> None:
    linked(tax, "550001")
    CodeRequest.objects.update(status=CodeRequestStatus.REQUESTED)
    assert register(tax, copy_body()).json()["status"] == "sent"


def test_the_same_event_again_is_the_same_copy_and_another_body_is_409(tax: KeyedClient) -> None:
    linked(tax, "550001")
    first = register(tax, copy_body())
    again = register(tax, copy_body())
    assert again.status_code == 200
    assert again.json()["copy_id"] == first.json()["copy_id"]
    conflict = register(tax, copy_body(items={"fiscal_year": 2025}))
    assert conflict.status_code == 409
    assert error_of(conflict) == ("event_id", "event_id_reused")
    assert Copy.objects.count() == 1


def test_a_second_live_copy_of_one_record_is_409(tax: KeyedClient) -> None:
    linked(tax, "550001")
    register(tax, copy_body())
    answer = register(tax, copy_body(event_id="another"))
    assert answer.status_code == 409
    assert error_of(answer) == ("record_key", "record_key_taken")


@pytest.mark.parametrize(
    ("overrides", "status", "reason"),
    [
        ({"data_set": "horoscope"}, 400, ("data_set", "unknown_data_set")),
        ({"address_number": "999999"}, 400, ("address_number", "unknown_address_number")),
        ({"number_system": "01"}, 403, ("", "number_system_not_allowed")),
        ({"valid_to": "2026-05-31"}, 400, ("valid_to", "before_valid_from")),
        ({"valid_from": "2026-02-30"}, 400, ("valid_from", "not_a_date")),
        ({"items": {}}, 400, ("items", "required")),
        ({"colour": "red"}, 400, ("colour", "unknown_field")),
        ({"items": {"note": "番号 9832 0567 3214"}}, 400, ("items", "number_shaped")),
        ({"items": {"ref": 983205673214}}, 400, ("items", "number_shaped")),
        ({"record_key": "983205673214"}, 400, ("record_key", "number_shaped")),
    ],
)
def test_a_bad_copy_is_refused_with_its_reason_and_nothing_is_stored(
    tax: KeyedClient, overrides: dict[str, Any], status: int, reason: tuple[str, str]
) -> None:
    linked(tax, "550001")
    counts = linkage_table_counts()
    answer = register(tax, copy_body(**overrides))
    assert answer.status_code == status
    assert answer["Content-Type"] == "application/problem+json"
    assert error_of(answer) == reason
    assert linkage_table_counts() == counts


def test_a_system_may_register_only_its_own_data_sets(jyuki: KeyedClient) -> None:
    linked(jyuki, "100001")
    answer = register(jyuki, copy_body("100001", number_system="01"))
    assert answer.status_code == 403
    assert error_of(answer) == ("", "data_set_not_allowed")
    assert not Copy.objects.exists()


def test_a_person_without_an_individual_number_cannot_have_copies(tax: KeyedClient) -> None:
    linked(tax, "550002", individual_number=None, resolution={"mode": "new"})
    answer = register(tax, copy_body("550002"))
    assert answer.status_code == 400
    assert error_of(answer) == ("address_number", "no_individual_number")
    assert not Copy.objects.exists()


def test_a_copy_is_replaced_by_a_new_revision_and_withdrawn(tax: KeyedClient) -> None:
    linked(tax, "550001")
    copy_id = register(tax, copy_body()).json()["copy_id"]
    url = f"{COPIES}/{copy_id}"
    client = api_for(tax)
    content = {
        "items": {"fiscal_year": 2026, "taxable_income": 2980000},
        "valid_from": "2026-06-01",
    }

    replaced = client.put(url, content, format="json")
    assert replaced.status_code == 202
    assert (replaced.json()["revision"], replaced.json()["items"]) == (2, content["items"])
    same = client.put(url, content, format="json")
    assert (same.status_code, same.json()["revision"]) == (200, 2)
    assert client.get(url).json()["items"] == content["items"]

    withdrawn = client.delete(url)
    assert (withdrawn.status_code, withdrawn.json()["status"]) == (202, "withdrawn")
    assert client.delete(url).status_code == 200
    refused = client.put(url, content, format="json")
    assert refused.status_code == 409
    assert error_of(refused) == ("", "copy_withdrawn")
    # The record key is free again once the copy is withdrawn.
    assert register(tax, copy_body(event_id="again")).status_code == 202


def test_a_copy_is_seen_by_its_own_number_system_only(tax: KeyedClient, jyuki: KeyedClient) -> None:
    linked(tax, "550001")
    url = f"{COPIES}/{register(tax, copy_body()).json()['copy_id']}"
    assert api_for(tax).get(url).status_code == 200
    for method in ("get", "delete"):
        assert getattr(api_for(jyuki), method)(url).status_code == 404
    assert api_for(tax).get(f"{COPIES}/not-a-uuid").status_code == 404
    assert api_for(None).get(url).status_code == 401
    assert Copy.objects.get().withdrawn_at is None
