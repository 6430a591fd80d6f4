"""POST /api/v1/address-changes and GET /api/v1/persons/<integrated_number> (SPEC section 7)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from linkage.models import CodeRequest, Person
from linkage.services.backbone_clients import backbone_client_revoke
from tests.conftest import api_for, linkage_table_counts, post_change
from tests.factories import KeyedClient, address_change_body, resident

pytestmark = pytest.mark.django_db

ANSWER_FIELDS = {
    "result",
    "integrated_number",
    "number_system",
    "address_number",
    "history_seq",
    "code_request_status",
}


def test_first_arrival_is_201_registered_then_200_updated(
    jyuki: KeyedClient, tax: KeyedClient
) -> None:
    someone = resident()
    first = post_change(jyuki, address_change_body(resident=someone, address_number="1001"))
    assert first.status_code == 201
    assert set(first.json()) == ANSWER_FIELDS
    assert first.json()["result"] == "registered"
    assert first.json()["code_request_status"] == "requesting"

    second = post_change(
        tax, address_change_body(number_system="02", resident=someone, address_number="9")
    )
    assert second.status_code == 200
    assert second.json() == {
        "result": "updated",
        "integrated_number": first.json()["integrated_number"],
        "number_system": "02",
        "address_number": "9",
        "history_seq": 2,
        "code_request_status": "requesting",
    }
    assert Person.objects.count() == CodeRequest.objects.count() == 1


def test_replay_returns_the_first_answer(jyuki: KeyedClient) -> None:
    body = address_change_body()
    first = post_change(jyuki, body)
    counts = linkage_table_counts()
    again = post_change(jyuki, body)
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert linkage_table_counts() == counts


def test_event_id_reused_with_another_body_is_409(jyuki: KeyedClient) -> None:
    body = address_change_body()
    post_change(jyuki, body)
    counts = linkage_table_counts()
    answer = post_change(jyuki, {**body, "address_number": "424242"})
    assert answer.status_code == 409
    assert answer["Content-Type"] == "application/problem+json"
    assert answer.json()["errors"] == [
        {
            "field": "event_id",
            "code": "event_id_reused",
            "message": answer.json()["errors"][0]["message"],
        }
    ]
    assert linkage_table_counts() == counts


def test_address_number_of_another_individual_number_is_409(jyuki: KeyedClient) -> None:
    post_change(jyuki, address_change_body(address_number="31"))
    counts = linkage_table_counts()
    body = address_change_body(address_number="31")
    answer = post_change(jyuki, body)
    assert answer.status_code == 409
    assert answer.json()["errors"][0]["field"] == "address_number"
    assert answer.json()["errors"][0]["code"] == "address_number_taken"
    assert body["individual_number"] not in answer.content.decode()
    assert linkage_table_counts() == counts


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        (None, "not_authenticated"),
        ("Token nope", "bad_key"),
        ("Token a b", "malformed_authorization"),
    ],
)
def test_no_or_bad_key_is_401(jyuki: KeyedClient, authorization: str | None, code: str) -> None:
    client = api_for(None)
    if authorization is not None:
        client.credentials(HTTP_AUTHORIZATION=authorization)
    counts = linkage_table_counts()
    answer = client.post("/api/v1/address-changes", address_change_body(), format="json")
    assert answer.status_code == 401
    assert answer["WWW-Authenticate"] == 'Token, Bearer realm="linkage"'
    assert answer["Content-Type"] == "application/problem+json"
    assert answer.json()["errors"][0]["code"] == code
    assert linkage_table_counts() == counts


def test_a_revoked_key_is_401(jyuki: KeyedClient) -> None:
    backbone_client_revoke(client=jyuki.client)
    assert post_change(jyuki, address_change_body()).status_code == 401


def test_another_systems_number_system_is_403(jyuki: KeyedClient) -> None:
    counts = linkage_table_counts()
    answer = post_change(jyuki, address_change_body(number_system="02"))
    assert answer.status_code == 403
    assert answer.json()["errors"][0]["code"] == "number_system_not_allowed"
    assert linkage_table_counts() == counts


def test_403_comes_before_other_field_errors(jyuki: KeyedClient) -> None:
    body = address_change_body(number_system="02", individual_number="123")
    assert post_change(jyuki, body).status_code == 403


def test_person_is_readable_by_a_linked_system_only(
    jyuki: KeyedClient, tax: KeyedClient, nhi: KeyedClient
) -> None:
    someone = resident()
    created = post_change(jyuki, address_change_body(resident=someone, address_number="11")).json()
    post_change(tax, address_change_body(number_system="02", resident=someone, address_number="22"))
    number = created["integrated_number"]

    seen = api_for(tax).get(f"/api/v1/persons/{number}")
    assert seen.status_code == 200
    assert seen.json() == {
        "integrated_number": number,
        "name": someone.name,
        "name_kana": someone.name_kana,
        "birth_date": someone.birth_date.isoformat(),
        "sex": someone.sex,
        "address": someone.address,
        # 住基's version is current (SPEC 10.5); 税's, the second, is history.
        "history_seq": 1,
        "registered_at": seen.json()["registered_at"],
        "code_request_status": "requesting",
        "has_individual_number": True,
        "links": [
            {"number_system": "01", "address_number": "11"},
            {"number_system": "02", "address_number": "22"},
        ],
        "merged_integrated_numbers": [],
    }
    assert someone.individual_number not in seen.content.decode()

    hidden = api_for(nhi).get(f"/api/v1/persons/{number}")
    assert hidden.status_code == 404
    assert hidden["Content-Type"] == "application/problem+json"


def test_person_lookup_checks_the_number_format(jyuki: KeyedClient) -> None:
    answer = api_for(jyuki).get("/api/v1/persons/12345")
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["field"] == "integrated_number"
    assert api_for(None).get("/api/v1/persons/000000000000019").status_code == 401


def test_person_detail_query_count(jyuki: KeyedClient, django_assert_max_num_queries) -> None:
    number = post_change(jyuki, address_change_body()).json()["integrated_number"]
    # 5 for the read, 4 or 5 for its access record (savepoint, the chain's lock on
    # PostgreSQL, chain head, insert, release).
    with django_assert_max_num_queries(10):
        assert api_for(jyuki).get(f"/api/v1/persons/{number}").status_code == 200


def test_unknown_api_path_is_a_problem_404(jyuki: KeyedClient) -> None:
    answer = api_for(jyuki).get("/api/v1/nothing-here")
    assert answer.status_code == 404
    assert answer["Content-Type"] == "application/problem+json"


def test_the_individual_number_never_reaches_a_log(
    jyuki: KeyedClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    someone = resident()
    body = address_change_body(resident=someone)
    post_change(jyuki, body)
    post_change(jyuki, body)
    post_change(jyuki, {**body, "address_number": "1"})  # 409
    post_change(jyuki, {**body, "individual_number": someone.individual_number[:-1] + "x"})  # 400
    post_change(
        jyuki, address_change_body(resident=someone, address_number="2", number_system="02")
    )
    assert caplog.records, "the flow logs something (requests, SQL) that the check can scan"
    for record in caplog.records:
        text = record.getMessage() + (record.exc_text or "")
        assert someone.individual_number not in text


def test_schema_and_docs_are_served(db: None) -> None:
    schema = api_for(None).get("/api/schema/")
    assert schema.status_code == 200
    text = schema.content.decode()
    assert "/api/v1/address-changes" in text
    assert "/api/v1/persons/{integrated_number}" in text
    assert api_for(None).get("/api/docs/").status_code == 200


def test_the_schema_gives_every_field_its_rule_and_every_error_an_example(db: None) -> None:
    """What a vendor generates a client from: patterns, enums, limits, descriptions and real
    examples, not "string" (docs/api.md)."""
    schema = api_for(None).get("/api/schema/?format=json").json()
    components = schema["components"]["schemas"]
    body = components["AddressChangeInputRequest"]["properties"]
    assert body["individual_number"]["pattern"] == "^[0-9]{12}$"
    assert body["individual_number"]["nullable"] is True
    assert body["address_number"]["pattern"] == "^[0-9]{1,15}$"
    assert body["number_system"]["allOf"][0]["$ref"] == "#/components/schemas/NumberSystemEnum"
    assert components["NumberSystemEnum"]["enum"] == ["01", "02", "03", "04"]
    assert body["changed_at"]["format"] == "date-time"
    for name in ("event_id", "number_system", "address_number", "individual_number"):
        assert body[name].get("description"), name
    person = components["PersonInputRequest"]["properties"]
    assert components["SexEnum"]["enum"] == ["0", "1", "2", "9"]
    assert person["sex"]["allOf"][0]["$ref"] == "#/components/schemas/SexEnum"
    assert person["birth_date"]["format"] == "date"
    assert all(person[name].get("description") for name in person)
    operation = schema["paths"]["/api/v1/address-changes"]["post"]
    request = operation["requestBody"]["content"]["application/json"]["examples"]
    assert request["JyukiRegisters"]["value"]["person"]["name"] == "鈴木　花子"
    assert "resolution" in request["TaxWithoutNumber"]["value"]
    undescribed = [
        f"{name}.{field}"
        for name, component in components.items()
        for field, prop in component.get("properties", {}).items()
        if not prop.get("description")
    ]
    assert undescribed == []
    for status in ("400", "401", "403", "409", "413", "415", "429"):
        problem = operation["responses"][status]["content"]["application/problem+json"]
        (example,) = problem["examples"].values()
        assert example["value"]["status"] == int(status)
        assert example["value"]["errors"][0]["code"]


def test_statement_count_of_a_registration_and_an_update(jyuki: KeyedClient) -> None:
    """Guards the hot path: a registration and a repeat of it each take a bounded number of
    statements, besides the transaction's own (here the test's SAVEPOINT/RELEASE). Neither
    reads the key's client nor the clients taking notices: the process keeps them
    (BACKBONE_CLIENTS_CACHE_SECONDS), read here by the first request. On PostgreSQL a
    registration is four: the person by its number, the links of its address number, the
    keys and integrated number drawn at once, and every row written in one statement."""
    post_change(jyuki, address_change_body())
    someone = resident()
    registration = statements_of(
        lambda: post_change(jyuki, address_change_body(resident=someone, address_number="1")),
        status=201,
    )
    unchanged = statements_of(  # the same again, under another event id
        lambda: post_change(jyuki, address_change_body(resident=someone, address_number="1")),
        status=200,
    )
    if connection.vendor == "postgresql":
        assert len(registration) <= 4, registration
        assert sum("INSERT INTO" in sql for sql in registration) == 1
    else:
        assert len(registration) <= 11, registration
    assert len(unchanged) <= 5, unchanged


def statements_of(request: Callable[[], Any], *, status: int) -> list[str]:
    """The statements a request sends, but its transaction's own."""
    with CaptureQueriesContext(connection) as captured:
        assert request().status_code == status
    return [
        query["sql"]
        for query in captured.captured_queries
        if not re.search(r"(SAVEPOINT|BEGIN|COMMIT)\b", query["sql"].split(";")[-1])
    ]
