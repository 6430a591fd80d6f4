"""Generated requests: whatever arrives, the API never answers 5xx."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ADDRESS_CHANGES_URL, api_for
from tests.factories import KeyedClient, address_change_body

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
TOP_FIELDS = [
    "event_id",
    "number_system",
    "address_number",
    "individual_number",
    "changed_at",
    "person",
    "business",
]
PERSON_FIELDS = ["name", "name_kana", "birth_date", "sex", "address"]
ACCEPTABLE = {200, 201, 400, 403, 409, 413, 415}


def send(keyed: KeyedClient, body: Any) -> Any:
    data = json.dumps(body).encode()
    answer = api_for(keyed).generic(
        "POST",
        ADDRESS_CHANGES_URL,
        data,  # type: ignore[arg-type]
        content_type="application/json",
    )
    assert answer.status_code in ACCEPTABLE, (answer.status_code, answer.content[:300])
    if answer.status_code >= 400:
        assert answer["Content-Type"] == "application/problem+json"
        assert answer.json()["errors"]
    return answer


@FUZZ
@given(body=json_values)
def test_any_json_body(jyuki: KeyedClient, body: Any) -> None:
    send(jyuki, body)


@FUZZ
@given(field=st.sampled_from(TOP_FIELDS), value=json_values)
def test_any_value_in_a_top_level_field(jyuki: KeyedClient, field: str, value: Any) -> None:
    body = address_change_body()
    body[field] = value
    send(jyuki, body)


@FUZZ
@given(field=st.sampled_from(PERSON_FIELDS), value=st.text(max_size=250) | json_values)
def test_any_value_in_a_person_field(jyuki: KeyedClient, field: str, value: Any) -> None:
    body = address_change_body()
    body["person"][field] = value
    send(jyuki, body)


@FUZZ
@given(
    data_type=st.text(max_size=40),
    items=st.dictionaries(st.text(max_size=70), json_values, max_size=60),
    confirmed_at=st.text(max_size=40),
)
def test_any_business_block(
    jyuki: KeyedClient, data_type: str, items: Any, confirmed_at: str
) -> None:
    body = address_change_body(
        business={"data_type": data_type, "items": items, "confirmed_at": confirmed_at}
    )
    send(jyuki, body)


@FUZZ
@given(raw=st.binary(max_size=300))
def test_any_bytes(jyuki: KeyedClient, raw: bytes) -> None:
    answer = api_for(jyuki).generic(
        "POST",
        ADDRESS_CHANGES_URL,
        raw,  # type: ignore[arg-type]
        content_type="application/json",
    )
    assert answer.status_code == 400


@FUZZ
@given(number=st.text(max_size=40))
def test_any_person_path(jyuki: KeyedClient, number: str) -> None:
    path = "/api/v1/persons/" + urllib.parse.quote(number, safe="")
    answer = api_for(jyuki).get(path)
    assert answer.status_code in {400, 404}
    assert answer["Content-Type"] == "application/problem+json"
