"""A file row is judged exactly as the API judges the same body: same fields, same codes,
same messages, and the same normalised change when it is good."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from linkage.api.serializers import AddressChangeInputSerializer
from linkage.bulk.rows import RowError, RowValidator
from tests.factories import KeyedClient, address_change_body
from tests.linkage.api.test_bad_input import CASES, raw_post

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("case", "mutate", "field", "code"), CASES, ids=[c[0] for c in CASES])
def test_a_bad_row_gets_the_apis_errors(
    jyuki: KeyedClient, case: str, mutate: Callable[[dict[str, Any]], None], field: str, code: str
) -> None:
    body = address_change_body(number_system="01")
    mutate(body)
    api_errors = raw_post(jyuki, json.dumps(body).encode()).json()["errors"]

    with translation.override("en"):
        row_errors = RowValidator().validate(copy.deepcopy(body))

    assert isinstance(row_errors, list)
    assert {(e.field, e.code, e.message) for e in row_errors} == {
        (e["field"], e["code"], e["message"]) for e in api_errors
    }
    assert (field, code) in {(e.field, e.code) for e in row_errors}


def test_a_good_row_becomes_the_same_change_as_through_the_api() -> None:
    from types import SimpleNamespace

    validator = RowValidator()
    for index in range(20):
        body = address_change_body(
            number_system="02",
            business={
                "data_type": "income",
                "confirmed_at": "2026-04-01T09:00:00+09:00",
                "items": {"fiscal_year": 2026, "note": f"row {index}"},
            },
        )
        body["person"]["name_kana"] = "ﾔﾏﾀﾞ ﾀﾛｳ"  # normalised to full width by both
        body["individual_number"] = body["individual_number"].translate(
            str.maketrans("0123456789", "０１２３４５６７８９")
        )
        serializer = AddressChangeInputSerializer(
            data=copy.deepcopy(body), context={"client": SimpleNamespace(number_system="02")}
        )
        assert serializer.is_valid(), serializer.errors
        assert validator.validate(copy.deepcopy(body)) == serializer.to_address_change()


def test_an_import_limited_to_one_number_system_refuses_others() -> None:
    errors = RowValidator(number_system="02").validate(address_change_body(number_system="01"))
    assert errors == [
        RowError(
            "number_system", "number_system_not_allowed", "this import takes number system 02 only"
        )
    ]


def _fields() -> list[tuple[str, Any]]:
    validator = RowValidator()
    return [
        *validator.top_fields.items(),
        *(("person." + k, f) for k, f in validator.person.fields.items()),
        *(("business." + k, f) for k, f in validator.business.fields.items()),
    ]


def test_the_shortcut_relies_only_on_length_validators() -> None:
    """The shorter road in rows._validated holds only while no field has other validators."""
    from django.core.validators import (
        MaxLengthValidator,
        MinLengthValidator,
        ProhibitNullCharactersValidator,
    )
    from rest_framework.validators import ProhibitSurrogateCharactersValidator

    allowed = (
        MaxLengthValidator,
        MinLengthValidator,
        ProhibitNullCharactersValidator,
        ProhibitSurrogateCharactersValidator,
    )
    for name, field in _fields():
        assert all(isinstance(v, allowed) for v in field.validators), name


@settings(max_examples=300, deadline=None)
@given(
    index=st.integers(min_value=0, max_value=100),
    value=st.one_of(
        st.text(max_size=80),
        st.text(alphabet="0123456789０１２３ -:T+Z", max_size=30),
        st.integers(),
        st.none(),
        st.floats(allow_nan=True),
        st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    ),
)
def test_the_shortcut_gives_what_run_validation_gives(index: int, value: Any) -> None:
    from rest_framework import serializers

    from linkage.bulk.rows import _validated

    fields = _fields()
    _, field = fields[index % len(fields)]

    def outcome(run: Callable[[], Any]) -> Any:
        try:
            return ("value", run())
        except serializers.ValidationError as error:
            return ("error", str(error.detail))
        except serializers.SkipField:
            return ("skip", None)

    with translation.override("en"):
        assert outcome(lambda: _validated(field, value)) == outcome(
            lambda: field.run_validation(value)
        )
