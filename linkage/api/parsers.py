"""A JSON parser with a hard body limit and errors that never echo the body."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser

from primitives.json_safe import NestedTooDeeply, json_loads

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
    """Whether any object key at any depth holds a lone surrogate. Walked with a list, not
    recursion: the decoder nests deeper than Python's recursion limit lets a walk follow."""
    waiting = [value]
    while waiting:
        item = waiting.pop()
        if isinstance(item, dict):
            if any(has_lone_surrogate(key) for key in item):
                return True
            waiting.extend(item.values())
        elif isinstance(item, list):
            waiting.extend(item)
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


class JSONRefused(ValueError):
    """Why a text is not the JSON linkage takes. `code` names it as the API's errors do; the
    message never repeats the text; a malformed text's names the position (line, column)
    where the decoder stopped, when it did."""

    def __init__(self, code: str, message: str, position: tuple[int, int] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.position = position


def json_strict(text: str) -> Any:
    """`text` decoded as the one JSON the API's bodies and the import's files are read as:
    no NaN or Infinity, no key twice in one object, no lone surrogate in a key, and nesting
    no deeper than the decoder goes (primitives.json_safe: a refusal, not a failure).
    JSONRefused otherwise."""
    try:
        data = json_loads(text, parse_constant=_reject_constant, object_pairs_hook=_keys_unique)
    except DuplicateKey as error:
        raise JSONRefused(
            "duplicate_key",
            f"the key {field_name_shown(error.key)} appears twice in one object; "
            "send each field once",
        ) from error
    except json.JSONDecodeError as error:  # its message would repeat none of the text either
        position = (error.lineno, error.colno)
        raise JSONRefused("malformed_json", "not valid JSON", position) from error
    except NestedTooDeeply as error:
        raise JSONRefused("malformed_json", str(error)) from error
    except ValueError as error:  # NaN, Infinity
        raise JSONRefused("malformed_json", "not valid JSON") from error
    if _SURROGATE_ESCAPE.search(text) and _key_has_lone_surrogate(data):
        raise JSONRefused(
            "invalid_unicode", "a key holds a lone surrogate (an unpaired \\ud800-\\udfff escape)"
        )
    return data


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
            # A leading byte order mark, which some clients write, is read past (RFC 8259
            # section 8.1 lets a parser ignore it).
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise exceptions.ParseError("the body is not UTF-8", code="not_utf8") from error
        try:
            return json_strict(text)
        except JSONRefused as refused:
            message = str(refused)
            if refused.code == "malformed_json":
                where = (
                    "at line {}, column {}".format(*refused.position) if refused.position else ""
                )
                message = f"the body is {refused} {where}".rstrip()
            raise exceptions.ParseError(message, code=refused.code) from refused
