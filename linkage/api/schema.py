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

from ..oauth.scopes import RESOURCES
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


class OAuthBearerScheme(OpenApiAuthenticationExtension):
    """SPEC 12: OAuth 2.0 client credentials; the client authenticates at the token endpoint
    with client_secret_jwt (or client_secret_basic) and sends the token as a bearer."""

    target_class = "linkage.api.authentication.OAuthBearerAuthentication"
    name = "OAuth2ClientCredentials"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "oauth2",
            "description": (
                "Client credentials with client_secret_jwt (RFC 7523) or client_secret_basic;"
                " scopes are `<number_system>:<resource>:<operation>`, e.g. "
                "`01:address-changes:write`. The token acts as the client's number system."
            ),
            "flows": {
                "clientCredentials": {
                    "tokenUrl": "/oauth/token",
                    "scopes": {
                        f"{{number_system}}:{resource}:{operation}": f"{operation} {resource}"
                        for resource, operations in RESOURCES.items()
                        for operation in operations
                    },
                }
            },
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


# The contract's vocabulary (SPEC glossary): one description and example per field name, for
# every schema property that does not describe itself, so the same field reads the same in
# every answer.
FIELD_DESCRIPTIONS: dict[str, tuple[str, Any]] = {
    "integrated_number": (
        "統合宛名番号, 15 digits, the last a mod-11 check digit.",
        "000000000000019",
    ),
    "merged_integrated_number": (
        "The integrated number merged into the representative.",
        "000000000000027",
    ),
    "number_system": ("番号体系, the business system's two-digit code.", "01"),
    "address_number": ("宛名番号, the person's number in that business system.", "1000000001"),
    "name": ("氏名 as stored (one full-width space between family and given name).", "鈴木　花子"),
    "name_kana": ("氏名カナ, full-width katakana.", "スズキ　ハナコ"),
    "sex": ("性別, ISO 5218: 0 unknown, 1 male, 2 female, 9 not applicable.", "2"),
    "address": ("住所.", "神奈川県横浜市港北区日吉1-1-1"),
    "code_request_status": (
        "The code request: not_requested, requesting, requested or error.",
        "requested",
    ),
    "status": ("The code request's status.", "requesting"),
    "stage": ("Where a requesting code request is in the chain.", "sent"),
    "last_error": (
        "Why the code request failed, as the intermediate server said (empty otherwise).",
        "",
    ),
    "processing_serial_number": (
        "処理通番 the intermediate server gave the request.",
        "PSN-2026-000001",
    ),
    "reception_number": ("受付番号 of the code acquisition request file.", "RCP-2026-000001"),
    "reason": ("Why, as the staff member wrote it.", "同一人と確認（窓口で本人確認）"),
    "cause": ("What caused the merge: individual_number (automatic) or manual.", "manual"),
    "merged_by": ("Who merged (a staff user, or the system for an automatic merge).", "supervisor"),
    "birth_date": ("生年月日, YYYY-MM-DD.", "1975-06-15"),
    "history_seq": ("履歴SEQ: the version's number for this person, from 1.", 3),
    "registered_at": ("When this version was stored (新規登録時点).", "2026-04-01T09:30:02+09:00"),
    "has_individual_number": ("Whether linkage holds the person's individual number.", True),
    "individual_number": (
        "個人番号, 12 digits with a valid check digit; never echoed.",
        "123456789018",
    ),
    "links": ("The person's (number system, address number) pairs.", None),
    "merged_integrated_numbers": ("Integrated numbers merged into this person.", []),
    "person": ("The basic items (基本4情報 and kana).", None),
    "business": ("Business items of one data type (業務情報).", None),
    "resolution": ("The sender's decision after a candidate search (SPEC 7.1, 10.2).", None),
    "score": ("How alike, 0-100 (SPEC 10.3).", 93),
    "number_systems": ("The number systems the candidate is linked to.", ["01", "02"]),
    "match": ("Per item, how to compare: exact or partial.", None),
    "candidates": ("The candidates, best first, at most 20.", None),
    "generation": ("1 for the first request, +1 for each re-request after an error.", 1),
    "attempts": ("How many times the serial-number request was sent.", 1),
    "status_changed_at": ("When the status last changed.", "2026-04-01T09:30:05+09:00"),
    "merged_at": ("When the persons were merged.", "2026-04-02T10:00:00+09:00"),
    "unmerged_at": ("When the merge was undone, or null.", None),
    "count": ("How many results in all.", 120),
    "next": ("The next page's URL, or null.", None),
    "previous": ("The previous page's URL, or null.", None),
    "results": ("This page's results.", None),
    "errors": ("Every field error at once.", None),
    "type": ("A URN naming the problem type.", "urn:linkage:problem:invalid-input"),
    "title": ("The HTTP status phrase.", "Bad Request"),
    "detail": ("The first error's message.", "the check digit does not match (SPEC 4.1)"),
    "field": (
        "The field the error is about (nested fields joined with dots), or empty.",
        "person.birth_date",
    ),
    "code": ("A stable error code for programs to act on.", "check_digit"),
    "message": (
        "The error in English, for people; never repeats the value sent.",
        "must not be in the future",
    ),
}


def descriptions_add(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the vocabulary above, where a property has none."""
    for component in result.get("components", {}).get("schemas", {}).values():
        for name, prop in component.get("properties", {}).items():
            if name in FIELD_DESCRIPTIONS and not prop.get("description"):
                description, example = FIELD_DESCRIPTIONS[name]
                prop["description"] = description
                if example is not None and "$ref" not in prop and "allOf" not in prop:
                    prop.setdefault("example", example)
    return result


DATABASE_UNAVAILABLE = (
    "linkage's database cannot be reached now (`database_unavailable`): send the request "
    "again after `Retry-After` seconds"
)


def unavailable_add(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: every operation may answer 503 when the database
    cannot be reached (config.views), besides any 503 of its own."""
    for path in result.get("paths", {}).values():
        for operation in path.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            response = operation["responses"].setdefault(
                "503",
                {
                    "content": {
                        "application/problem+json": {
                            "schema": {"$ref": "#/components/schemas/Problem"}
                        }
                    }
                },
            )
            own = response.get("description")
            response["description"] = (
                f"{own}; or {DATABASE_UNAVAILABLE}" if own else DATABASE_UNAVAILABLE
            )
            response["headers"] = {
                "Retry-After": {
                    "description": "seconds to wait before sending the request again",
                    "schema": {"type": "integer"},
                }
            }
    return result
