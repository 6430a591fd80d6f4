"""Validating one row of an address-change file with the API's own fields.

A file row is shaped like a `POST /api/v1/address-changes` body and checked by the very
field instances the API's serializers use (linkage.api.serializers), so a file and the API
accept and refuse the same values with the same codes and messages. The serializer machinery
around the fields is skipped: at file volumes it costs several times the checks themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from rest_framework import serializers
from rest_framework.fields import empty

from ..api.fields import IntegratedNumberField
from ..api.serializers import (
    UNKNOWN_FIELD,
    UNKNOWN_NUMBER_SYSTEM,
    AddressChangeInputSerializer,
    BusinessInputSerializer,
    PersonInputSerializer,
    ResolutionInputSerializer,
)
from ..masking import field_name_shown
from ..services.address_changes import AddressChange, address_change_of


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


class RowValidator:
    """Turns a body into an AddressChange or the list of everything wrong with it."""

    def __init__(self, *, number_system: str | None = None) -> None:
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
        self.top_fields["integrated_number"] = IntegratedNumberField(required=False)

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
