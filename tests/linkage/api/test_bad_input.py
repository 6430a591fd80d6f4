"""Every rule of SPEC section 7: bad input gets a specific error and changes nothing."""

from __future__ import annotations

import copy
import datetime
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from linkage.models import AddressVersion, Person
from tests.conftest import ADDRESS_CHANGES_URL, api_for, linkage_table_counts, post_change
from tests.factories import KeyedClient, address_change_body

pytestmark = pytest.mark.django_db

Body = dict[str, Any]


def setting(path: str, value: Any) -> Callable[[Body], None]:
    def mutate(body: Body) -> None:
        *parents, last = path.split(".")
        target = body
        for parent in parents:
            target = target[parent]
        target[last] = value

    return mutate


def removing(path: str) -> Callable[[Body], None]:
    def mutate(body: Body) -> None:
        *parents, last = path.split(".")
        target = body
        for parent in parents:
            target = target[parent]
        del target[last]

    return mutate


def wrong_check_digit(body: Body) -> None:
    number = body["individual_number"]
    body["individual_number"] = number[:-1] + str((int(number[-1]) + 1) % 10)


def tomorrow() -> str:
    return (timezone.localdate() + datetime.timedelta(days=1)).isoformat()


BUSINESS = {"data_type": "income", "items": {"fiscal_year": 2026}}

CASES: list[tuple[str, Callable[[Body], None], str, str]] = [
    ("wrong check digit", wrong_check_digit, "individual_number", "check_digit"),
    ("11 digits", lambda b: b.update(individual_number=b["individual_number"][:11]), "individual_number", "digits"),
    ("13 digits", lambda b: b.update(individual_number=b["individual_number"] + "0"), "individual_number", "digits"),
    ("letters", setting("individual_number", "98320567321A"), "individual_number", "digits"),
    ("arabic-indic digits", setting("individual_number", "٩٨٣٢٠٥٦٧٣٢١٤"), "individual_number", "digits"),
    ("number for a string", setting("individual_number", 983205673214), "individual_number", "wrong_type"),
    # Absent or null is a person without a number (SPEC 7.1): tests/linkage/api/test_without_number.py.
    ("empty individual number", setting("individual_number", ""), "individual_number", "blank"),
    ("2023-02-30", setting("person.birth_date", "2023-02-30"), "person.birth_date", "not_a_date"),
    ("future birth date", lambda b: b["person"].update(birth_date=tomorrow()), "person.birth_date", "future_date"),
    ("slashed date", setting("person.birth_date", "2001/02/03"), "person.birth_date", "format"),
    ("date before 1868", setting("person.birth_date", "1867-12-31"), "person.birth_date", "too_early"),
    ("date as number", setting("person.birth_date", 20010203), "person.birth_date", "wrong_type"),
    ("sex 3", setting("person.sex", "3"), "person.sex", "invalid_choice"),
    ("sex as number", setting("person.sex", 1), "person.sex", "wrong_type"),
    ("NUL in name", setting("person.name", "山田\x00太郎"), "person.name", "control_characters"),
    ("newline in name", setting("person.name", "山田\n太郎"), "person.name", "control_characters"),
    ("bidi override in name", setting("person.name", "山田\u202e太郎"), "person.name", "control_characters"),
    ("lone surrogate in name", setting("person.name", "山田\ud800"), "person.name", "control_characters"),
    ("name over 100", setting("person.name", "山" * 101), "person.name", "max_length"),
    ("empty name", setting("person.name", ""), "person.name", "blank"),
    ("name of a selector alone", setting("person.name", "\U000e0100"), "person.name", "blank"),
    ("address of selectors alone", setting("person.address", "\ufe0f\ufe0e"), "person.address", "blank"),
    ("missing name", removing("person.name"), "person.name", "required"),
    ("address over 200", setting("person.address", "横" * 201), "person.address", "max_length"),
    ("missing address", removing("person.address"), "person.address", "required"),
    ("hiragana kana", setting("person.name_kana", "やまだ たろう"), "person.name_kana", "not_katakana"),
    ("latin kana", setting("person.name_kana", "YAMADA"), "person.name_kana", "not_katakana"),
    ("person is a list", setting("person", ["山田"]), "person", "invalid"),
    ("person missing", removing("person"), "person", "required"),
    ("unknown person field", setting("person.nickname", "taro"), "person.nickname", "unknown_field"),
    ("empty event id", setting("event_id", ""), "event_id", "blank"),
    ("event id over 64", setting("event_id", "e" * 65), "event_id", "max_length"),
    ("event id as number", setting("event_id", 7), "event_id", "wrong_type"),
    ("unknown number system", setting("number_system", "99"), "number_system", "unknown_number_system"),
    ("1-digit number system", setting("number_system", "1"), "number_system", "digits"),
    ("16-digit address number", setting("address_number", "1" * 16), "address_number", "digits"),
    ("address number with a dash", setting("address_number", "12-3"), "address_number", "digits"),
    ("empty address number", setting("address_number", ""), "address_number", "blank"),
    ("changed_at without offset", setting("changed_at", "2026-04-01T09:30:00"), "changed_at", "no_offset"),
    ("changed_at not a date", setting("changed_at", "yesterday"), "changed_at", "format"),
    ("changed_at as number", setting("changed_at", 1700000000), "changed_at", "wrong_type"),
    ("business without data type", setting("business", {"items": {}}), "business.data_type", "required"),
    ("bad data type", setting("business", {"data_type": "Tax Data"}), "business.data_type", "invalid"),
    ("business is a string", setting("business", "income"), "business", "invalid"),
    ("51 items", setting("business", {**BUSINESS, "items": {f"k{i}": i for i in range(51)}}), "business.items", "too_many_items"),
    ("list item value", setting("business", {**BUSINESS, "items": {"k": [1]}}), "business.items", "bad_value"),
    ("boolean item value", setting("business", {**BUSINESS, "items": {"k": True}}), "business.items", "bad_value"),
    ("huge item number", setting("business", {**BUSINESS, "items": {"k": 10**20}}), "business.items", "bad_value"),
    ("NUL item value", setting("business", {**BUSINESS, "items": {"k": "a\x00"}}), "business.items", "bad_value"),
    ("items is a list", setting("business", {**BUSINESS, "items": [1]}), "business.items", "wrong_type"),
    ("confirmed_at no offset", setting("business", {**BUSINESS, "confirmed_at": "2026-04-01"}), "business.confirmed_at", "format"),
    ("unknown top-level field", setting("individualNumber", "983205673214"), "individualNumber", "unknown_field"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "mutate", "field", "code"), CASES, ids=[c[0] for c in CASES])
def test_bad_field_is_400_naming_the_field_and_changes_nothing(
    jyuki: KeyedClient, case: str, mutate: Callable[[Body], None], field: str, code: str
) -> None:
    body = address_change_body()
    original_number = body["individual_number"]
    mutate(body)
    counts = linkage_table_counts()

    answer = raw_post(jyuki, json.dumps(body).encode())  # ASCII-escaped, as lone surrogates need

    assert answer.status_code == 400, answer.content
    assert answer["Content-Type"] == "application/problem+json"
    problem = answer.json()
    assert problem["status"] == 400
    assert {"field": field, "code": code} in [
        {"field": error["field"], "code": error["code"]} for error in problem["errors"]
    ], problem["errors"]
    assert all(error["message"] for error in problem["errors"])
    assert original_number not in answer.content.decode()
    assert linkage_table_counts() == counts


def raw_post(keyed: KeyedClient, data: bytes, content_type: str = "application/json") -> Any:
    # Raw bytes on purpose (invalid UTF-8 included); the stubs say str, Django takes both.
    return api_for(keyed).generic(
        "POST",
        ADDRESS_CHANGES_URL,
        data,  # type: ignore[arg-type]
        content_type=content_type,
    )


@pytest.mark.parametrize(
    ("data", "content_type", "status", "code"),
    [
        (b'{"event_id": "x",', "application/json", 400, "malformed_json"),
        (b'{"a": NaN}', "application/json", 400, "malformed_json"),
        (b"[" * 20000 + b"]" * 20000, "application/json", 400, "malformed_json"),
        # Decodable, but deeper than a recursive walk for lone surrogates in keys could go.
        (
            b'{"x": "\\ud800", "a": ' + b"[" * 500 + b"]" * 500 + b"}",
            "application/json",
            400,
            "required",  # the fields' own errors, event_id's first
        ),
        ('{"event_id": "é"}'.encode("latin-1"), "application/json", 400, "not_utf8"),
        (b"[1, 2]", "application/json", 400, "invalid"),
        (b"event_id=x", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        (b"<xml/>", "text/xml", 415, "unsupported_media_type"),
    ],
    ids=[
        "truncated",
        "nan",
        "deeply nested",
        "nested with a surrogate",
        "latin-1",
        "list body",
        "form",
        "xml",
    ],
)
def test_bodies_that_are_not_a_json_object(
    jyuki: KeyedClient, data: bytes, content_type: str, status: int, code: str
) -> None:
    counts = linkage_table_counts()
    answer = raw_post(jyuki, data, content_type)
    assert answer.status_code == status
    assert answer["Content-Type"] == "application/problem+json"
    assert answer.json()["errors"][0]["code"] == code
    assert linkage_table_counts() == counts


@pytest.mark.parametrize("where", ["top", "person", "items", "number-shaped key"])
def test_a_key_written_twice_is_refused_and_named(jyuki: KeyedClient, where: str) -> None:
    """JSON leaves a repeated key's meaning to each parser: linkage would read the last, a
    gateway or a log on the way perhaps the first. Refused, naming the key (a plain name only)."""
    body = address_change_body(number_system=jyuki.number_system)
    body["business"] = {"data_type": "tax", "items": {"k": "1"}}
    text = json.dumps(body, ensure_ascii=False)
    key = "123456789018" if where == "number-shaped key" else ""
    text = {
        "top": text.replace("{", '{"event_id": "first", ', 1),
        "person": text.replace('"person": {', '"person": {"name": "前", ', 1),
        "items": text.replace('"items": {', '"items": {"k": "0", ', 1),
        "number-shaped key": text.replace(
            '"items": {', f'"items": {{"{key}": "0", "{key}": "1", ', 1
        ),
    }[where]
    counts = linkage_table_counts()
    answer = raw_post(jyuki, text.encode())
    assert answer.status_code == 400
    error = answer.json()["errors"][0]
    assert error["code"] == "duplicate_key"
    named = {"top": "event_id", "person": "name", "items": "k", "number-shaped key": "*"}[where]
    assert f"the key {named} appears twice" in error["message"]
    if key:
        assert key not in answer.content.decode()
    assert linkage_table_counts() == counts


def test_a_body_with_a_leading_byte_order_mark_is_read_past(jyuki: KeyedClient) -> None:
    """Some clients write one (a UTF-8 encoder that writes its preamble); RFC 8259 lets a
    parser ignore it. Anywhere else it is a character like any other."""
    body = address_change_body(number_system=jyuki.number_system)
    answer = raw_post(jyuki, "\ufeff".encode() + json.dumps(body).encode())
    assert answer.status_code == 201, answer.content


def test_a_body_over_64_kib_is_413(jyuki: KeyedClient) -> None:
    body = address_change_body()
    body["person"]["address"] = "x" * (64 * 1024)
    counts = linkage_table_counts()
    answer = raw_post(jyuki, json.dumps(body).encode())
    assert answer.status_code == 413
    assert answer.json()["errors"][0]["code"] == "body_too_large"
    assert linkage_table_counts() == counts


def test_a_body_of_exactly_64_kib_is_read(jyuki: KeyedClient) -> None:
    body = address_change_body()
    body["pad"] = ""
    size = len(json.dumps(body).encode())
    body["pad"] = "p" * (64 * 1024 - size)
    data = json.dumps(body).encode()
    assert len(data) == 64 * 1024
    answer = raw_post(jyuki, data)
    assert answer.status_code == 400  # read and parsed: only the unknown field is refused
    assert answer.json()["errors"] == [
        {"field": "pad", "code": "unknown_field", "message": "is not a field of this object"}
    ]


def test_full_width_digits_are_accepted_and_stored_converted(jyuki: KeyedClient) -> None:
    body = address_change_body()
    ascii_number = body["individual_number"]
    to_full_width = str.maketrans("0123456789", "０１２３４５６７８９")
    body["individual_number"] = ascii_number.translate(to_full_width)
    body["address_number"] = "８８８"
    answer = post_change(jyuki, body)
    assert answer.status_code == 201
    assert answer.json()["address_number"] == "888"
    assert Person.objects.get().individual_number == ascii_number


def test_half_width_kana_is_stored_full_width(jyuki: KeyedClient) -> None:
    body = address_change_body()
    body["person"]["name_kana"] = "ﾔﾏﾀﾞ ﾀﾛｳ"
    assert post_change(jyuki, body).status_code == 201
    # SPEC 7.1: the space between family and given name is stored full-width, as the standard
    # writes 氏名.
    assert AddressVersion.objects.get().name_kana == "ヤマダ\u3000タロウ"


def test_private_use_gaiji_in_names_are_kept(jyuki: KeyedClient) -> None:
    body = address_change_body()
    body["person"]["name"] = "髙\ue000田"
    assert post_change(jyuki, body).status_code == 201
    assert AddressVersion.objects.get().name == "髙\ue000田"


def test_every_error_is_reported_at_once(jyuki: KeyedClient) -> None:
    body = copy.deepcopy(address_change_body())
    body["person"]["sex"] = "7"
    body["person"]["birth_date"] = "2023-02-30"
    wrong_check_digit(body)
    fields = {error["field"] for error in post_change(jyuki, body).json()["errors"]}
    assert fields == {"person.sex", "person.birth_date", "individual_number"}


def test_every_message_is_english_whatever_the_language_settings(jyuki: KeyedClient) -> None:
    """DRF's own messages too: LANGUAGE_CODE is Japanese for the screens, not for the API."""
    body = address_change_body()
    del body["person"]["name"]
    answer = post_change(jyuki, body, HTTP_ACCEPT_LANGUAGE="ja")
    assert answer.json()["errors"] == [
        {"field": "person.name", "code": "required", "message": "This field is required."}
    ]
