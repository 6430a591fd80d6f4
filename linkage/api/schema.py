"""OpenAPI descriptions drf-spectacular cannot infer: the token scheme, and the strict
fields' patterns, enums and examples (a vendor's generated client validates what the server
validates)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerFieldExtension,
)

from primitives.vocabulary import SEX_CODES

from . import fields


class DigitsFieldSchema(OpenApiSerializerFieldExtension):
    """Digit strings: their pattern and length; the number system as the configured enum."""

    target_class = fields.DigitsField
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        field = self.target
        low, high = field.min_digits, field.max_digits
        digits = f"{{{low}}}" if low == high else f"{{{low},{high}}}"
        schema: dict[str, Any] = {
            "type": "string",
            "pattern": f"^[0-9]{digits}$",
            "minLength": low,
            "maxLength": high,
        }
        if field.field_name == "number_system":
            schema["enum"] = list(settings.NUMBER_SYSTEMS)
        if field.allow_null:
            schema["nullable"] = True
        return schema


class CodeFieldSchema(OpenApiSerializerFieldExtension):
    target_class = fields.CodeField

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        return {"type": "string", "enum": list(self.target.codes)}


class SexFieldSchema(OpenApiSerializerFieldExtension):
    target_class = fields.SexField

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        return {"type": "string", "enum": sorted(SEX_CODES)}


class KatakanaFieldSchema(OpenApiSerializerFieldExtension):
    target_class = fields.KatakanaField

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        return {"type": "string", "maxLength": self.target.max_length}


class BackboneTokenScheme(OpenApiAuthenticationExtension):
    target_class = "linkage.api.authentication.BackboneTokenAuthentication"
    name = "BackboneToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`; a key is bound to one number_system.",
        }


class StaffTokenScheme(OpenApiAuthenticationExtension):
    target_class = "linkage.api.authentication.StaffTokenAuthentication"
    name = "StaffToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "a staff user's API key"}


# OpenAPI links (3.0 §4.7.17): what a client does next with an answer. They document the
# contract and let schemathesis chain calls in its stateful tests.
_LINKS: dict[tuple[str, str], dict[str, Any]] = {
    ("address_change_create", "201"): {
        "ReadThePerson": {
            "operationId": "person_retrieve",
            "parameters": {"integrated_number": "$response.body#/integrated_number"},
            "description": "the person the change registered, as this system sees it",
        },
    },
    ("address_change_create", "200"): {
        "ReadThePerson": {
            "operationId": "person_retrieve",
            "parameters": {"integrated_number": "$response.body#/integrated_number"},
        },
    },
}


def links_add(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the links above, on their operations' answers."""
    for path in result.get("paths", {}).values():
        for operation in path.values():
            if not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                links = _LINKS.get((operation.get("operationId", ""), str(status)))
                if links:
                    response["links"] = links
    return result
