"""What looks like an individual number, and how it is kept out of records, errors and logs.

One rule for every place that must never hold the number (access records, error answers,
log lines of every process, debug and error reports): twelve digits, ASCII or full-width,
standing alone, written together or with spaces or hyphens as printed on the card
(`1234 5678 9018`, `１２３４－５６７８－９０１８`), also percent-encoded as a URL in an access log
carries it (`%EF%BC%99…`, `9832+0567+3214`). A 15-digit integrated number is not
number-shaped; an eleven-digit run is not either. The rule itself is
primitives.numbers.NUMBER_SHAPED, which the request ids also keep clear of
(primitives.request_context).
"""

from __future__ import annotations

import re
from typing import Any

from primitives.numbers import NUMBER_SHAPED, is_number_shaped

MASK = "************"
# What an access record keeps in place of a value that looks like an individual number.
NUMBER_SHAPED_GIVEN = "(number-shaped value given)"
# Control characters cannot be stored in PostgreSQL text (NUL) and mean nothing in a record.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Lone surrogates cannot be encoded as UTF-8: anything holding one fails to be written.
_SURROGATE = re.compile("[\ud800-\udfff]")


def mask_number_shaped(text: str) -> str:
    """`text` with every number-shaped run replaced by MASK."""
    return NUMBER_SHAPED.sub(MASK, text)


def has_lone_surrogate(text: str) -> bool:
    return _SURROGATE.search(text) is not None


def printable(text: str) -> str:
    """`text` with control characters and lone surrogates replaced by U+FFFD, so it can be
    stored and shown whatever a client sent."""
    return _SURROGATE.sub("\ufffd", _CONTROL.sub("\ufffd", text))


def recorded_value(value: Any, *, limit: int = 200) -> str:
    """A submitted value as a record may keep it: NUMBER_SHAPED_GIVEN for anything that looks
    like an individual number, otherwise printable text of at most `limit` characters."""
    text = printable(str(value))
    if is_number_shaped(text):
        return NUMBER_SHAPED_GIVEN
    return text[:limit]


def safe_text(text: str) -> str:
    """Text that came from somewhere else (an error message, a field name) as an answer or a
    log line may carry it: printable and masked."""
    return mask_number_shaped(printable(text))


_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
# How an error names a field whose name it does not repeat.
UNNAMED_FIELD = "*"


def field_name_shown(name: str) -> str:
    """A client's field name as an error may repeat it: a plain identifier that does not
    look like an individual number; anything else (a number used as a key, control or
    non-ASCII characters) is UNNAMED_FIELD."""
    if _PLAIN_NAME.fullmatch(name) and not is_number_shaped(name):
        return name
    return UNNAMED_FIELD
