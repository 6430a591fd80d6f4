"""Validating one row of an address-change file with the API's own fields.

A file row is shaped like a `POST /api/v1/address-changes` body and checked by the very
field instances the API's serializers use (linkage.api.serializers), so a file and the API
accept and refuse the same values with the same codes and messages. The serializer machinery
around the fields is skipped: at file volumes it costs several times the checks themselves.

A row of plain good values (strings, ASCII digits, full-width katakana, no character any
field refuses) takes a short road, `RowValidator.quick`, which asks each rule only what that
value needs; anything else, and every refusal, takes the fields' own road, so the messages are
always the API's. The two roads give the same change for every row the short one takes
(tests/linkage/bulk/test_rows.py compares them on generated and hostile rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from rest_framework import serializers
from rest_framework.fields import empty

from primitives.numbers import (
    is_ascii_digits,
    is_valid_individual_number,
    is_valid_integrated_number,
)
from primitives.text import (
    KATAKANA_OR_SPACE,
    has_forbidden_characters,
    name_spaces_normalise,
    search_key,
)
from primitives.vocabulary import SEX_CODES, RecordStatus

from ..api.fields import DigitsField, IntegratedNumberField
from ..api.serializers import (
    DATA_TYPE_PATTERN,
    UNKNOWN_FIELD,
    UNKNOWN_NUMBER_SYSTEM,
    AddressChangeInputSerializer,
    BusinessInputSerializer,
    PersonInputSerializer,
    ResolutionInputSerializer,
)
from ..masking import field_name_shown
from ..services.address_changes import AddressChange, address_change_of

_STRINGS = ("event_id", "number_system", "address_number", "changed_at")
_PERSON_STRINGS = ("name", "birth_date", "sex", "address")


class _LongRoad(Exception):
    """The short road does not decide this row: the fields' own road does."""


@dataclass(frozen=True)
class RowError:
    field: str
    code: str
    message: str


def _errors_of(field: str, error: serializers.ValidationError) -> list[RowError]:
    detail: Any = error.detail
    if isinstance(detail, dict):  # a nested serializer's own errors, about the object itself
        detail = [item for items in detail.values() for item in items]
    details = detail if isinstance(detail, list) else [detail]
    return [
        RowError(field=field, code=str(getattr(item, "code", "invalid")), message=str(item))
        for item in details
    ]


def _validated(field: serializers.Field, raw: Any) -> Any:
    """`field.run_validation(raw)`, by a shorter road for the usual good value.

    run_validation is empty-value handling, to_internal_value, then validators; for our
    fields the only validators are the length limits (null and surrogate characters are
    already refused by to_internal_value). A value that is not empty, converts, and fits
    the limits is therefore the same value either way; anything else takes the full road,
    which raises the API's exact error.
    """
    if raw is empty or raw is None or raw == "":
        return field.run_validation(raw)
    try:
        value = field.to_internal_value(raw)
    except serializers.ValidationError:
        return field.run_validation(raw)
    if isinstance(field, serializers.CharField) and (
        (value == "" and not field.allow_blank)
        or (field.max_length is not None and len(value) > field.max_length)
        or (field.min_length is not None and len(value) < field.min_length)
    ):
        return field.run_validation(raw)
    return value


def _max_length(field: serializers.Field) -> int:
    assert isinstance(field, serializers.CharField) and field.max_length is not None  # noqa: S101
    return field.max_length


class RowValidator:
    """Turns a body into an AddressChange or the list of everything wrong with it."""

    def __init__(self, *, number_system: str | None = None, kept_numbers: bool = True) -> None:
        """`number_system`: the one system the rows may come from (any, if None).
        `kept_numbers`: rows may carry an existing integrated number (a file, not the API)."""
        self.number_system = number_system
        self.top = AddressChangeInputSerializer(context={"client": None})
        self.person = PersonInputSerializer()
        self.business = BusinessInputSerializer()
        self.top_fields = {
            name: field
            for name, field in self.top.fields.items()
            if name not in ("person", "business", "resolution")
        }
        self.resolution = ResolutionInputSerializer()
        # A file (not the API) may carry the integrated number an existing 統合宛名 system
        # gave the person: a migration keeps it (docs/bulk-import.md).
        if kept_numbers:
            self.top_fields["integrated_number"] = IntegratedNumberField(required=False)
        # The short road's names, limits and date fields, the fields' own (a resolution
        # always takes the fields' road).
        person_fields, business_fields = self.person.fields, self.business.fields
        self._top_keys = frozenset(self.top_fields) | {"person", "business"}
        self._person_keys = frozenset(person_fields)
        self._business_keys = frozenset(business_fields)
        self._event_id_length = _max_length(self.top_fields["event_id"])
        address_number = self.top_fields["address_number"]
        assert isinstance(address_number, DigitsField)  # noqa: S101
        self._address_number_digits = address_number.max_digits
        self._changed_at = self.top_fields["changed_at"]
        self._name_length = _max_length(person_fields["name"])
        self._kana_length = _max_length(person_fields["name_kana"])
        self._address_length = _max_length(person_fields["address"])
        self._birth_date = person_fields["birth_date"]
        self._data_type_length = _max_length(business_fields["data_type"])
        self._confirmed_at = business_fields["confirmed_at"]
        self._items = business_fields["items"]

    def _run(
        self,
        errors: list[RowError],
        fields: dict[str, Any],
        data: dict[str, Any],
        prefix: str,
        checks: dict[str, Any],
    ) -> dict[str, Any]:
        values: dict[str, Any] = {}
        unknown = set(data) - set(fields) - {"person", "business", "resolution"}
        for name in sorted({field_name_shown(name) for name in unknown}):
            errors.append(RowError(f"{prefix}{name}", "unknown_field", UNKNOWN_FIELD))
        for name, field in fields.items():
            raw = data.get(name, empty)
            try:
                value = _validated(field, raw)
                if name in checks and value is not empty:
                    value = checks[name](value)
            except serializers.ValidationError as error:
                errors.extend(_errors_of(f"{prefix}{name}", error))
                continue
            except serializers.SkipField:
                continue
            values[name] = value
        return values

    def _nested(
        self,
        errors: list[RowError],
        name: str,
        body: dict[str, Any],
        serializer: serializers.Serializer,
        checks: dict[str, Any],
        *,
        required: bool = True,
    ) -> dict[str, Any] | None:
        data = body.get(name, empty)
        if not required and data is empty:
            return None
        if not isinstance(data, dict):
            # The nested serializer words "required" and "not an object" as the API does.
            try:
                serializer.run_validation(data)
            except serializers.ValidationError as error:
                errors.extend(_errors_of(name, error))
            return None
        return self._run(errors, dict(serializer.fields), data, f"{name}.", checks)

    def _number_system(self, value: str) -> str:
        if value not in settings.NUMBER_SYSTEMS:
            raise serializers.ValidationError(UNKNOWN_NUMBER_SYSTEM, code="unknown_number_system")
        if self.number_system is not None and value != self.number_system:
            raise serializers.ValidationError(
                f"this import takes number system {self.number_system} only",
                code="number_system_not_allowed",
            )
        return value

    def validate(self, body: Any) -> AddressChange | list[RowError]:
        return self.quick(body) or self.full(body)

    def quick(self, body: Any) -> AddressChange | None:
        """The change, for a row of plain good values; None sends it down the full road."""
        try:
            return address_change_of(self._plain(body), sent=body)
        except (_LongRoad, serializers.ValidationError, TypeError, AttributeError, KeyError):
            return None

    def _plain(self, body: Any) -> dict[str, Any]:
        """The validated values of a row the short road decides, or _LongRoad. Each check is
        the one its field makes, narrowed to the values the field leaves unchanged; the
        limits are read from the fields themselves."""
        if type(body) is not dict or not body.keys() <= self._top_keys:
            raise _LongRoad
        person, business = body["person"], body.get("business")
        if type(person) is not dict or not person.keys() <= self._person_keys:
            raise _LongRoad
        strings = [body[name] for name in _STRINGS] + [person[name] for name in _PERSON_STRINGS]
        strings.append(person.get("name_kana", ""))
        if "business" in body:
            if type(business) is not dict or not business.keys() <= self._business_keys:
                raise _LongRoad
            strings.append(business["data_type"])
            strings.append(business.get("confirmed_at", ""))
        if not all(type(value) is str for value in strings) or has_forbidden_characters(
            "|".join(strings)
        ):
            raise _LongRoad
        number_system = body["number_system"]
        event_id = body["event_id"]
        if not (
            0 < len(event_id) <= self._event_id_length
            and number_system in settings.NUMBER_SYSTEMS
            and self.number_system in (None, number_system)
            and is_ascii_digits(body["address_number"])
            and len(body["address_number"]) <= self._address_number_digits
        ):
            raise _LongRoad
        values: dict[str, Any] = {
            "event_id": event_id,
            "number_system": number_system,
            "address_number": body["address_number"],
            "individual_number": self._plain_number(body.get("individual_number")),
            "changed_at": self._changed_at.to_internal_value(body["changed_at"]),
            "person": self._plain_person(person),
            "business": None if business is None else self._plain_business(business),
            "resolution": None,
        }
        if "record_status" in body:
            if body["record_status"] not in RecordStatus.values:
                raise _LongRoad
            values["record_status"] = body["record_status"]
        if "integrated_number" in body:
            given = body["integrated_number"]
            if type(given) is not str or not is_valid_integrated_number(given):
                raise _LongRoad
            values["integrated_number"] = given
        return values

    @staticmethod
    def _plain_number(number: Any) -> str:
        if number is None:
            return ""
        if type(number) is not str or not is_valid_individual_number(number):
            raise _LongRoad
        return number

    def _plain_person(self, person: dict[str, Any]) -> dict[str, Any]:
        name = name_spaces_normalise(person["name"].strip())
        kana = person.get("name_kana")
        address = person["address"].strip()
        if not (
            0 < len(name) <= self._name_length
            and 0 < len(address) <= self._address_length
            and person["sex"] in SEX_CODES
            and search_key(name)  # not variation selectors alone (the fields' `blank`)
            and search_key(address)
        ):
            raise _LongRoad
        plain = {
            "name": name,
            "birth_date": self._birth_date.to_internal_value(person["birth_date"]),
            "sex": person["sex"],
            "address": address,
        }
        if kana is not None:
            kana = kana.strip()
            # Without half-width kana, the field's widening (h2z) leaves the value as it is.
            if kana and not KATAKANA_OR_SPACE.fullmatch(kana):
                raise _LongRoad
            plain["name_kana"] = name_spaces_normalise(kana)
            if len(plain["name_kana"]) > self._kana_length:
                raise _LongRoad
        return plain

    def _plain_business(self, business: dict[str, Any]) -> dict[str, Any]:
        data_type = business["data_type"]
        if not (
            len(data_type) <= self._data_type_length and DATA_TYPE_PATTERN.fullmatch(data_type)
        ):
            raise _LongRoad
        plain: dict[str, Any] = {"data_type": data_type}
        if "confirmed_at" in business:
            plain["confirmed_at"] = self._confirmed_at.to_internal_value(business["confirmed_at"])
        if "items" in business:
            plain["items"] = self._items.to_internal_value(business["items"])
        return plain

    def full(self, body: Any) -> AddressChange | list[RowError]:
        """The fields' own road: the change, or every error the API would give."""
        if not isinstance(body, dict):
            return [RowError("", "invalid", "a row must be a JSON object")]
        errors: list[RowError] = []
        top = self._run(errors, self.top_fields, body, "", {"number_system": self._number_system})
        person = self._nested(
            errors, "person", body, self.person, {"sex": self.person.validate_sex}
        )
        business = self._nested(
            errors,
            "business",
            body,
            self.business,
            {"data_type": self.business.validate_data_type},
            required=False,
        )
        resolution = self._resolution(errors, body)
        if errors or person is None:
            return errors
        return address_change_of(
            {**top, "person": person, "business": business, "resolution": resolution}, sent=body
        )

    def _resolution(self, errors: list[RowError], body: dict[str, Any]) -> dict[str, Any] | None:
        """`resolution` as the API checks it (the serializer's own rules included)."""
        if "resolution" not in body:
            return None
        try:
            value: dict[str, Any] = self.resolution.run_validation(body["resolution"])
        except serializers.ValidationError as error:
            detail: Any = error.detail
            if not isinstance(detail, dict):
                errors.extend(_errors_of("resolution", error))
                return None
            for name, items in detail.items():
                place = "resolution" if name == "non_field_errors" else f"resolution.{name}"
                errors += [
                    RowError(place, str(getattr(i, "code", "invalid")), str(i)) for i in items
                ]
            return None
        return value
