"""`POST /api/v1/inquiries`, `GET /api/v1/inquiries/<inquiry_id>` and
`GET /api/v1/exchange-records` (情報照会, 情報提供等記録, SPEC 11): what is accepted, what is
refused with which reason, that a refusal stores nothing, and that a key sees only its own."""

from __future__ import annotations

from typing import Any

import pytest

from linkage.models import Inquiry
from tests.conftest import api_for, linkage_table_counts, post_change
from tests.factories import KeyedClient, address_change_body, backbone_client

pytestmark = pytest.mark.django_db

INQUIRIES = "/api/v1/inquiries"


@pytest.fixture
def welfare(db: None) -> KeyedClient:
    keyed = backbone_client(number_system="04", name="福祉")
    body = address_change_body(number_system="04", address_number="770001")
    assert post_change(keyed, body).status_code == 201
    return keyed


def inquiry_body(**overrides: Any) -> dict[str, Any]:
    return {
        "event_id": "welfare-inq-1",
        "number_system": "04",
        "address_number": "770001",
        "procedure": "child_allowance_payment",
        "data_set": "local_tax_income",
        "provider": "131016",
        **overrides,
    }


def make(keyed: KeyedClient, body: dict[str, Any]) -> Any:
    return api_for(keyed).post(INQUIRIES, body, format="json")


def error_of(answer: Any) -> tuple[str, str]:
    (error,) = answer.json()["errors"]
    return error["field"], error["code"]


def test_an_inquiry_waits_for_the_code_and_a_repeat_is_the_same_inquiry(
    welfare: KeyedClient,
) -> None:
    first = make(welfare, inquiry_body())
    assert first.status_code == 202
    assert (first.json()["status"], first.json()["records"]) == ("waiting_for_code", [])
    again = make(welfare, inquiry_body())
    assert (again.status_code, again.json()["inquiry_id"]) == (200, first.json()["inquiry_id"])
    conflict = make(welfare, inquiry_body(provider="011002"))
    assert conflict.status_code == 409
    assert error_of(conflict) == ("event_id", "event_id_reused")
    assert Inquiry.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "status", "reason"),
    [
        ({"procedure": "fortune_telling"}, 400, ("procedure", "unknown_procedure")),
        ({"procedure": "nhi_benefit"}, 403, ("", "procedure_not_allowed")),
        ({"provider": "131017"}, 400, ("provider", "check_digit")),
        ({"provider": "141003"}, 400, ("provider", "own_institution")),
        ({"address_number": "999999"}, 400, ("address_number", "unknown_address_number")),
        ({"number_system": "02"}, 403, ("", "number_system_not_allowed")),
        ({"event_id": ""}, 400, ("event_id", "blank")),
    ],
)
def test_a_bad_inquiry_is_refused_with_its_reason_and_nothing_is_stored(
    welfare: KeyedClient, overrides: dict[str, Any], status: int, reason: tuple[str, str]
) -> None:
    counts = linkage_table_counts()
    answer = make(welfare, inquiry_body(**overrides))
    assert answer.status_code == status, answer.content
    assert answer["Content-Type"] == "application/problem+json"
    assert error_of(answer) == reason
    assert linkage_table_counts() == counts


def test_a_person_without_an_individual_number_cannot_be_asked_about(
    welfare: KeyedClient,
) -> None:
    body = address_change_body(number_system="04", address_number="770002", individual_number=None)
    assert post_change(welfare, {**body, "resolution": {"mode": "new"}}).status_code == 201
    answer = make(welfare, inquiry_body(address_number="770002"))
    assert answer.status_code == 400
    assert error_of(answer) == ("address_number", "no_individual_number")


def test_a_key_sees_only_its_own_inquiries(welfare: KeyedClient) -> None:
    url = f"{INQUIRIES}/{make(welfare, inquiry_body()).json()['inquiry_id']}"
    assert api_for(welfare).get(url).status_code == 200
    other_welfare = backbone_client(number_system="04", name="福祉（別の窓口）")
    assert api_for(other_welfare).get(url).status_code == 404
    assert api_for(welfare).get(f"{INQUIRIES}/not-a-uuid").status_code == 404
    assert api_for(None).get(url).status_code == 401


def test_exchange_records_need_an_own_linked_person_and_an_available_intermediate_server(
    welfare: KeyedClient, settings: Any
) -> None:
    records = "/api/v1/exchange-records"
    unknown = api_for(welfare).get(records, {"number_system": "04", "address_number": "1"})
    assert (unknown.status_code, error_of(unknown)) == (
        400,
        ("address_number", "unknown_address_number"),
    )
    other = api_for(welfare).get(records, {"number_system": "01", "address_number": "770001"})
    assert other.status_code == 403
    settings.PEER_URLS = {**settings.PEER_URLS, "intermediate": "http://127.0.0.1:9/sim/x"}
    down = api_for(welfare).get(records, {"number_system": "04", "address_number": "770001"})
    assert down.status_code == 503
    assert down.json()["errors"][0]["code"] == "intermediate_unavailable"
