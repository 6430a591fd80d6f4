"""A file row is judged exactly as the API judges the same body: same fields, same codes,
same messages, and the same normalised change when it is good."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from linkage.api.serializers import AddressChangeInputSerializer
from linkage.bulk.rows import RowError, RowValidator
from tests.factories import ADDRESS_CHANGE_PATHS, KeyedClient, address_change_body
from tests.linkage.api.test_bad_input import CASES, raw_post
from tests.linkage.security.test_hostile_screens import HOSTILE, ODD_TYPES

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
        body = _good_body(index)
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


# --- the short road (RowValidator.quick) against the fields' own road ------------------------

# Values that each field's rules treat in their own way: padded, full-width, half-width kana,
# blank, null, of another type, forbidden characters, out of range, over the limits (with the
# hostile strings and odd types every screen and field is tried with).
_AWKWARD: list[Any] = [
    "",
    " ",
    "\u3000",
    None,
    7,
    1.5,
    True,
    [],
    {},
    " 1 ",
    "１２",
    "01",
    "99",
    "1",
    "9",
    "x" * 101,
    "ｱｲｳ ｴｵ",
    "ヤマダ　タロウ",
    "ヤマダ  タロウ ",
    "やまだ",
    "山田\u200b太郎",
    "山田\x00",
    "山田 太郎",
    " 山田\u3000\u3000太郎 ",
    "ended",
    "active",
    "income",
    "Income",
    "household_2",
    "1986-03-21",
    "2999-01-01",
    "1867-12-31",
    "1986-02-30",
    "1986/03/21",
    "2026-04-01T09:30:00+09:00",
    "2026-04-01T09:30:00",
    "2026-04-01T09:30:00+15:00",
    "123456789018",
    "123456789019",
    "１２３４５６７８９０１８",
    "1234 5678 9018",
    "100000000000026",
    "100000000000024",
    {"a": 1},
    {"a": "\x07"},
]
_PLACES = [
    *ADDRESS_CHANGE_PATHS,
    ("integrated_number",),
    ("resolution",),
    ("unknown",),
    ("person", "unknown"),
    ("business", "unknown"),
]
_MISSING = object()


def _with(body: dict[str, Any], place: tuple[str, ...], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(body)
    target = body
    for name in place[:-1]:
        if not isinstance(target.get(name), dict):
            return body
        target = target[name]
    if value is _MISSING:
        target.pop(place[-1], None)
    else:
        target[place[-1]] = value
    return body


def _good_body(index: int) -> dict[str, Any]:
    body = address_change_body(
        number_system="02",
        business={
            "data_type": "income",
            "confirmed_at": "2026-04-01T09:00:00+09:00",
            "items": {"fiscal_year": 2026, "note": f"row {index}"},
        },
    )
    body["person"]["name_kana"] = "ヤマダ　タロウ"
    return body


def test_plain_good_rows_take_the_short_road_to_the_same_change() -> None:
    """The rows a business system usually sends are decided by the short road (else the
    import is slow for nothing), and it gives what the fields' own road gives."""
    validator = RowValidator()
    for index in range(50):
        body = _good_body(index)
        if index % 3 == 0:
            del body["business"]
        if index % 4 == 0:
            body["individual_number"] = None
        if index % 5 == 0:
            body["record_status"] = "ended"
        quick = validator.quick(copy.deepcopy(body))
        assert quick is not None
        assert quick == validator.full(copy.deepcopy(body))


def _awkward_bodies() -> Iterator[tuple[tuple[str, ...], Any, dict[str, Any]]]:
    """A good body with one awkward value (or hostile string, odd type, absence) in one
    place, for every place and value: (place, value, body)."""
    for place in _PLACES:
        for value in [*_AWKWARD, *HOSTILE, *ODD_TYPES, _MISSING]:
            yield place, value, _with(_good_body(0), place, value)


@pytest.mark.parametrize("restricted", [False, True])
def test_each_awkward_value_in_each_place_is_decided_as_the_fields_decide(
    restricted: bool,
) -> None:
    """Every awkward value in every place, one at a time: the short road steps aside or gives
    the fields' change, and it still takes the plain values of each kind."""
    validator = RowValidator(number_system="02" if restricted else None)
    taken = 0
    with translation.override("en"):
        for place, value, body in _awkward_bodies():
            quick = validator.quick(copy.deepcopy(body))
            assert quick is None or quick == validator.full(copy.deepcopy(body)), (place, value)
            taken += quick is not None
    assert taken > 50  # not a road that steps aside for everything


@settings(max_examples=300, deadline=None)
@given(
    changes=st.lists(
        st.tuples(
            st.sampled_from(_PLACES), st.sampled_from([*_AWKWARD, _MISSING]) | st.text(max_size=8)
        ),
        min_size=1,
        max_size=3,
    ),
    restricted=st.booleans(),
)
def test_the_short_road_never_decides_otherwise_than_the_fields(
    changes: list[tuple[tuple[str, ...], Any]], restricted: bool
) -> None:
    """Whatever a row holds, the short road either steps aside (None) or gives exactly the
    change the fields' own road gives; it never accepts what they refuse."""
    validator = RowValidator(number_system="02" if restricted else None)
    body = _good_body(0)
    for place, value in changes:
        body = _with(body, place, value)
    with translation.override("en"):
        quick = validator.quick(copy.deepcopy(body))
        full = validator.full(copy.deepcopy(body))
    assert quick is None or quick == full


def test_the_apis_short_road_gives_what_the_serializer_gives() -> None:
    """The API takes the same short road (without a migration's integrated number): every
    awkward value in every place either steps aside, for the serializer to decide, or gives
    exactly the serializer's change; it never accepts what the serializer refuses."""
    from types import SimpleNamespace

    from linkage.api.views import _short_road

    road = _short_road("02")
    taken = 0
    with translation.override("en"):
        for place, value, body in _awkward_bodies():
            quick = road.quick(copy.deepcopy(body))
            if quick is None:
                continue
            taken += 1
            serializer = AddressChangeInputSerializer(
                data=copy.deepcopy(body), context={"client": SimpleNamespace(number_system="02")}
            )
            assert serializer.is_valid(), (place, value, serializer.errors)
            assert quick == serializer.to_address_change(), (place, value)
    assert taken > 50
    assert road.quick({**_good_body(0), "integrated_number": "100000000000026"}) is None
    assert road.quick({**_good_body(0), "number_system": "01"}) is None
