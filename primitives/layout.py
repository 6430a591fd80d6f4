"""The address-change file layout (docs/bulk-import.md): what a business system writes and
linkage's import reads, the same contract as the API body in columns."""

from __future__ import annotations

import json
from typing import Any

CSV_COLUMNS = (
    "event_id",
    "number_system",
    "address_number",
    "individual_number",
    "changed_at",
    "name",
    "name_kana",
    "birth_date",
    "sex",
    "address",
    "data_type",
    "confirmed_at",
    "items",
)
# Columns a file may add after the thirteen, in this order: SPEC 7.1's later field, and the
# integrated number an existing system gave the person (a migration keeps it).
# `resolution` (SPEC 7.1): "new", or the integrated number of the person to link ("link").
OPTIONAL_COLUMNS = ("record_status", "integrated_number", "resolution")
PERSON_COLUMNS = ("name", "name_kana", "birth_date", "sex", "address")
ENCODINGS = {"utf-8": "utf-8", "cp932": "cp932"}
FORMATS = ("csv", "jsonl")


def csv_record(body: dict[str, Any]) -> list[str]:
    """A body as a CSV record of the layout (the inverse of reading it)."""
    person = body.get("person") or {}
    business = body.get("business") or {}
    items = business.get("items")
    values = {
        **{name: body.get(name, "") for name in CSV_COLUMNS[:5]},
        **{name: person.get(name, "") for name in PERSON_COLUMNS},
        "data_type": business.get("data_type", ""),
        "confirmed_at": business.get("confirmed_at", ""),
        "items": items
        if isinstance(items, str)
        else (json.dumps(items, ensure_ascii=False) if items is not None else ""),
    }
    return [str(values[name]) for name in CSV_COLUMNS]
