"""A JSON parser with a hard body limit and errors that never echo the body."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser

from ..masking import field_name_shown, has_lone_surrogate


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "the request body is larger than the limit"
    default_code = "body_too_large"


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


# A UTF-8 body cannot hold a lone surrogate, but a JSON escape can write one (`"\ud800"`).
# In a value, the field that takes it refuses it by name (control_characters); a key holding
# one names no field and could not be repeated or stored, so it is refused here. Only bodies
# with a surrogate escape are walked.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _key_has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, dict):
        return any(
            has_lone_surrogate(key) or _key_has_lone_surrogate(item) for key, item in value.items()
        )
    if isinstance(value, list):
        return any(_key_has_lone_surrogate(item) for item in value)
    return False


class DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__("a key appears twice in one object")
        self.key = key


def _keys_unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose keys are all different (RFC 8259 leaves a repeated key's meaning to
    each parser: a gateway or log reading the first and linkage the last would each see
    another change, and a client that writes a field twice loses one of them unseen)."""
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        for key, _value in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return found


class BoundedJSONParser(JSONParser):
    """Reads at most API_MAX_BODY_BYTES (64 KiB), then parses strict JSON in UTF-8."""

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        limit = settings.API_MAX_BODY_BYTES
        request = (parser_context or {}).get("request")
        if request is not None:
            try:
                declared = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                declared = 0
            if declared > limit:
                raise PayloadTooLarge(f"the request body is larger than {limit} bytes")
        raw = stream.read(limit + 1)
        if len(raw) > limit:
            raise PayloadTooLarge(f"the request body is larger than {limit} bytes")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise exceptions.ParseError("the body is not UTF-8", code="not_utf8") from error
        try:
            data = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_keys_unique)
        except DuplicateKey as error:
            raise exceptions.ParseError(
                f"the key {field_name_shown(error.key)} appears twice in one object; "
                "send each field once",
                code="duplicate_key",
            ) from error
        except (ValueError, RecursionError) as error:
            # The decoder's message names a position only, never the content.
            position = (
                f" at line {error.lineno}, column {error.colno}"
                if isinstance(error, json.JSONDecodeError)
                else ""
            )
            raise exceptions.ParseError(
                f"the body is not valid JSON{position}", code="malformed_json"
            ) from error
        if _SURROGATE_ESCAPE.search(text) and _key_has_lone_surrogate(data):
            raise exceptions.ParseError(
                "a key holds a lone surrogate (an unpaired \\ud800-\\udfff escape)",
                code="invalid_unicode",
            )
        return data
