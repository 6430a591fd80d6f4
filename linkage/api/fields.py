"""Strict input fields for the API edge (SPEC section 7).

Strict means: a string field takes only a JSON string (a number is a type error, not silently
converted), dates take only their ISO form, and messages never repeat the submitted value, so
an individual number cannot leak into an error.
"""

from __future__ import annotations

import datetime
import math
import re
from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from primitives.numbers import is_valid_integrated_number
from primitives.text import (
    InvalidText,
    birth_date_check,
    date_in_range,
    digits_normalise,
    has_forbidden_characters,
    individual_number_normalise,
    katakana_normalise,
    moment_check,
    name_spaces_normalise,
    search_key,
)

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
MAX_SAFE_NUMBER = 2**53


class StrictCharField(serializers.CharField):
    default_error_messages = {
        "wrong_type": "must be a string",
        "control_characters": "must not contain control or invisible format characters",
    }

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("wrong_type")
        if has_forbidden_characters(data):
            self.fail("control_characters")
        return super().to_internal_value(data)


class DigitsField(StrictCharField):
    """ASCII digits; full-width digits (０-９) are accepted and converted at this edge."""

    default_error_messages = {"digits": "must be {length} ASCII digits"}

    def __init__(self, *, min_digits: int, max_digits: int, **kwargs: Any) -> None:
        self.min_digits = min_digits
        self.max_digits = max_digits
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        try:
            return digits_normalise(value, min_digits=self.min_digits, max_digits=self.max_digits)
        except InvalidText:
            length = (
                str(self.min_digits)
                if self.min_digits == self.max_digits
                else f"{self.min_digits} to {self.max_digits}"
            )
            self.fail("digits", length=length)


class IndividualNumberField(DigitsField):
    default_error_messages = {"check_digit": "the check digit does not match (SPEC 4.1)"}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_digits=12, max_digits=12, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        try:
            return individual_number_normalise(value)
        except InvalidText as error:
            self.fail(error.code)


class IntegratedNumberField(DigitsField):
    """An integrated address number: 15 digits, the last a mod-11 check digit (SPEC 4.3)."""

    default_error_messages = {"check_digit": "the check digit does not match (SPEC 4.3)"}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_digits=15, max_digits=15, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if not is_valid_integrated_number(value):
            self.fail("check_digit")
        return value


class CodeField(StrictCharField):
    """One of a fixed list of codes; the error lists the codes, never the value sent."""

    default_error_messages = {"invalid_choice": "must be one of: {choices}"}

    def __init__(self, *, choices: list[str], **kwargs: Any) -> None:
        self.codes = choices
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if value not in self.codes:
            self.fail("invalid_choice", choices=", ".join(self.codes))
        return value


class SexField(StrictCharField):
    """性別, an ISO 5218 code (the serializer's validate_sex words the refusal)."""


class ReadableField(StrictCharField):
    """Text a clerk reads and searches (a name, an address): variation selectors alone are
    nothing to read, and blank, as spaces alone are."""

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if value and not search_key(value):
            self.fail("blank")
        return value


class NameField(ReadableField):
    """氏名: its spaces as the standard writes them (one full-width space per run)."""

    def to_internal_value(self, data: Any) -> str:
        return name_spaces_normalise(super().to_internal_value(data))


class KatakanaField(StrictCharField):
    """カナ: full- or half-width katakana, stored full-width."""

    default_error_messages = {"not_katakana": "must be katakana (full- or half-width)"}

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        try:
            return katakana_normalise(value)
        except InvalidText as error:
            self.fail(error.code)


@extend_schema_field(OpenApiTypes.DATE)
class StrictDateField(serializers.Field):
    """A real calendar date written YYYY-MM-DD."""

    default_error_messages = {
        "wrong_type": "must be a string",
        "format": "must be a date written YYYY-MM-DD",
        "not_a_date": "is not a real calendar date",
        "future_date": "must not be in the future",
        "too_early": "must not be before 1868-01-01",
        "out_of_range": "must lie between 1868-01-01 and 9999-12-29",
    }

    def __init__(self, *, allow_future: bool = True, **kwargs: Any) -> None:
        self.allow_future = allow_future
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> datetime.date:
        if not isinstance(data, str):
            self.fail("wrong_type")
        if not _ISO_DATE.fullmatch(data):
            self.fail("format")
        try:
            value = datetime.date.fromisoformat(data)
        except ValueError:
            self.fail("not_a_date")
        try:
            return date_in_range(birth_date_check(value, allow_future=self.allow_future))
        except InvalidText as error:
            self.fail(error.code)

    def to_representation(self, value: datetime.date) -> str:
        return value.isoformat()


@extend_schema_field(OpenApiTypes.DATETIME)
class OffsetDateTimeField(serializers.Field):
    """An ISO 8601 date-time with an explicit UTC offset (or Z), within SPEC 7.1's bounds:
    from 1868-01-01 (Japan time) to one day after now, the offset within ±14:00. Outside
    them a value could not be stored (PostgreSQL keeps offsets up to ±15:59 only) or, once
    stored, not be read back into Python (year 1 minus an offset): `out_of_range`."""

    default_error_messages = {
        "wrong_type": "must be a string",
        "format": "must be an ISO 8601 date-time such as 2026-04-01T09:30:00+09:00",
        "no_offset": "must carry a UTC offset such as +09:00 or Z",
        "out_of_range": (
            "must lie between 1868-01-01 and one day after now (Japan time), "
            "with a UTC offset within ±14:00"
        ),
    }

    def to_internal_value(self, data: Any) -> datetime.datetime:
        if not isinstance(data, str):
            self.fail("wrong_type")
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9:.,+\-Z]+", data):
            self.fail("format")
        try:
            value = datetime.datetime.fromisoformat(data)
        except ValueError:
            self.fail("format")
        if value.utcoffset() is None:
            self.fail("no_offset")
        try:
            return moment_check(value, latest=timezone.now() + datetime.timedelta(days=1))
        except InvalidText as error:
            self.fail(error.code)

    def to_representation(self, value: datetime.datetime) -> str:
        return value.isoformat()


@extend_schema_field(
    {
        "type": "object",
        "maxProperties": 50,
        "additionalProperties": {
            "oneOf": [{"type": "string", "maxLength": 1000}, {"type": "number"}]
        },
    }
)
class BusinessItemsField(serializers.Field):
    """An object of at most 50 string keys mapping to strings or numbers."""

    MAX_ITEMS = 50
    MAX_KEY_LENGTH = 64
    MAX_VALUE_LENGTH = 1000
    default_error_messages = {
        "wrong_type": "must be an object",
        "too_many_items": f"must have at most {MAX_ITEMS} items",
        "bad_key": f"keys must be 1 to {MAX_KEY_LENGTH} characters without control characters",
        "bad_value": (
            "values must be strings of at most "
            f"{MAX_VALUE_LENGTH} characters without control characters, or finite numbers "
            f"within ±2^53"
        ),
    }

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            self.fail("wrong_type")
        if len(data) > self.MAX_ITEMS:
            self.fail("too_many_items")
        for key, value in data.items():
            if not 0 < len(key) <= self.MAX_KEY_LENGTH or has_forbidden_characters(key):
                self.fail("bad_key")
            if not self._value_ok(value):
                self.fail("bad_value")
        return dict(data)

    def _value_ok(self, value: Any) -> bool:
        if isinstance(value, str):
            return len(value) <= self.MAX_VALUE_LENGTH and not has_forbidden_characters(value)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        return math.isfinite(value) and abs(value) <= MAX_SAFE_NUMBER

    def to_representation(self, value: dict[str, Any]) -> dict[str, Any]:
        return value
