"""Checking rows before they are stored: validation, the receipt digest and the blind index.

This is about half of an import's per-row Python work and needs no database. Checking in
worker processes while the importing process stores chunks was tried and measured twice: on
this project's 2-core machine it was no faster (2026-12-02, an initial load of 32,973 changes:
2,398 rows/s in-process, 2,280 with two workers, 2,508 with three; earlier 3,639 in-process,
3,349 and 3,638), the work being CPU-bound on two cores that PostgreSQL shares, so rows are
checked in the importing process.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from primitives.crypto import blind_index

from ..services.address_changes import AddressChange
from .files import SourceRow
from .rows import RowError, RowValidator


@dataclass(frozen=True)
class CheckedRow:
    line: int
    event_id: str
    change: AddressChange | None
    errors: list[RowError]
    digest: str = ""
    index: str = ""


def check(validator: RowValidator, row: SourceRow) -> CheckedRow:
    body = row.body
    event_id = str(body.get("event_id", ""))[:64] if isinstance(body, dict) else ""
    if row.error is not None or body is None:
        return CheckedRow(row.line, event_id, None, [row.error or RowError("", "invalid", "")])
    checked = validator.validate(body)
    if isinstance(checked, list):
        return CheckedRow(row.line, event_id, None, checked)
    return CheckedRow(
        row.line,
        checked.event_id,
        checked,
        [],
        digest=checked.digest(),
        index=blind_index(checked.individual_number) if checked.individual_number else "",
    )


def checked_rows(rows: Iterable[SourceRow], *, number_system: str | None) -> Iterator[CheckedRow]:
    """The rows checked, in file order."""
    validator = RowValidator(number_system=number_system)
    for row in rows:
        yield check(validator, row)
