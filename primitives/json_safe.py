"""JSON from elsewhere (a request body, a file's line, a peer's answer), decoded so that every
text that is not JSON is a ValueError: the decoder itself raises RecursionError for nesting
deeper than it goes, which each caller would otherwise have to know about."""

from __future__ import annotations

import json
from typing import Any


class NestedTooDeeply(ValueError):
    """Nested deeper than the JSON decoder goes."""


def json_loads(text: str | bytes, **options: Any) -> Any:
    """json.loads(text, **options); NestedTooDeeply (a ValueError) for nesting too deep."""
    try:
        return json.loads(text, **options)
    except RecursionError as error:
        raise NestedTooDeeply("not valid JSON: nested too deeply") from error
