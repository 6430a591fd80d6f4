"""Reading address-change files: CSV (the layout in docs/bulk-import.md) or JSON Lines (one
API body per line), in UTF-8 or Shift_JIS (CP932), streamed so memory does not grow with the
file. Each row comes with its line number; a line whose bytes are not valid in the declared
encoding is reported as such, never decoded with replacement characters."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from primitives.layout import CSV_COLUMNS, ENCODINGS, FORMATS, OPTIONAL_COLUMNS, PERSON_COLUMNS

from ..api.parsers import JSONRefused, json_strict
from .rows import RowError

# The longest physical line read: a change as the API takes it is at most 64 KiB, and CSV's
# quoting doubles at most every character. A longer line (a JSON array on one line, a file
# that is no text) is reported and skipped without being held in memory.
LINE_BYTES_MAX = 256 * 1024


class FileLayoutError(ValueError):
    """The file as a whole cannot be read (wrong header, unknown format): nothing is imported."""


@dataclass(frozen=True)
class SourceRow:
    line: int
    body: dict[str, Any] | None
    error: RowError | None = None


class DecodedLines:
    """Physical lines decoded strictly; a line that cannot be read (undecodable, or longer
    than LINE_BYTES_MAX) becomes an empty line whose number and reason are remembered, so the
    CSV reader keeps counting lines and the row can be reported (the reason is taken out
    when it is: memory does not grow with a file of bad lines)."""

    def __init__(self, raw: IO[bytes], encoding: str) -> None:
        self.raw = raw
        self.encoding = encoding
        self.number = 0
        self.unreadable: dict[int, RowError] = {}

    def __iter__(self) -> DecodedLines:
        return self

    def __next__(self) -> str:
        data = self.raw.readline(LINE_BYTES_MAX + 1)
        if not data:
            raise StopIteration
        self.number += 1
        if len(data) > LINE_BYTES_MAX:
            while data and not data.endswith(b"\n"):  # the rest of the line, dropped
                data = self.raw.readline(1 << 20)
            self.unreadable[self.number] = RowError(
                "", "too_long", f"the line is longer than {LINE_BYTES_MAX:,} bytes"
            )
            return "\n"
        try:
            text = data.decode(self.encoding)
        except UnicodeDecodeError as error:
            self.unreadable[self.number] = RowError(
                "", "encoding", f"the line is not valid {self.encoding} (byte {error.start + 1})"
            )
            return "\n"
        if self.number == 1:
            text = text.removeprefix("\ufeff")
        return text

    @property
    def position(self) -> int:
        return self.raw.tell()


def _json_refusal(field: str, refused: JSONRefused, malformed: str) -> RowError:
    """A file's JSON refused as the API refuses a body, except that text which is not JSON
    keeps the import's own code (`invalid_json`) with `malformed` as its message."""
    if refused.code == "malformed_json":
        return RowError(field, "invalid_json", malformed)
    return RowError(field, refused.code, str(refused))


def _csv_body(record: dict[str, str]) -> tuple[dict[str, Any], RowError | None]:
    body: dict[str, Any] = {
        name: record[name]
        for name in (
            "event_id",
            "number_system",
            "address_number",
            "individual_number",
            "changed_at",
        )
        if record[name] != ""
    }
    body["person"] = {name: record[name] for name in PERSON_COLUMNS if record[name] != ""}
    body |= {name: record[name] for name in OPTIONAL_COLUMNS if record.get(name)}
    if "resolution" in body:
        chosen = body["resolution"]
        body["resolution"] = (
            {"mode": "new"} if chosen == "new" else {"mode": "link", "integrated_number": chosen}
        )
    if record["data_type"] or record["confirmed_at"] or record["items"]:
        business: dict[str, Any] = {
            name: record[name] for name in ("data_type", "confirmed_at") if record[name] != ""
        }
        if record["items"]:
            try:
                business["items"] = json_strict(record["items"])
            except JSONRefused as refused:
                malformed = 'must be a JSON object, e.g. {"key": 1}'
                return body, _json_refusal("business.items", refused, malformed)
        body["business"] = business
    return body, None


def _read_csv(lines: DecodedLines) -> Iterator[SourceRow]:
    reader = csv.reader(lines, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as error:
        raise FileLayoutError(f"line 1: the header is not valid CSV ({error})") from error
    columns = tuple(header)
    optional = columns[len(CSV_COLUMNS) :]
    if (
        1 in lines.unreadable
        or columns[: len(CSV_COLUMNS)] != CSV_COLUMNS
        or optional != OPTIONAL_COLUMNS[: len(optional)]
    ):
        raise FileLayoutError(
            "line 1: the header must be exactly: "
            + ",".join(CSV_COLUMNS)
            + f" (optionally followed by: {','.join(OPTIONAL_COLUMNS)})"
        )
    end = 1
    while True:
        start = end + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            end = reader.line_num
            yield SourceRow(start, None, RowError("", "csv", f"not valid CSV ({error})"))
            continue
        end = reader.line_num
        bad = [lines.unreadable.pop(n) for n in range(start, end + 1) if n in lines.unreadable]
        if bad:
            yield SourceRow(start, None, bad[0])
            continue
        if not row:
            continue  # a blank line
        if len(row) != len(columns):
            yield SourceRow(
                start,
                None,
                RowError("", "columns", f"has {len(row)} columns; the header has {len(columns)}"),
            )
            continue
        body, problem = _csv_body(dict(zip(columns, row, strict=True)))
        yield SourceRow(start, body, problem)


def _read_jsonl(lines: DecodedLines) -> Iterator[SourceRow]:
    for text in lines:
        number = lines.number
        if number in lines.unreadable:
            yield SourceRow(number, None, lines.unreadable.pop(number))
            continue
        if not text.strip():
            continue
        try:
            body = json_strict(text)
        except JSONRefused as refused:
            where = f" at column {refused.position[1]}" if refused.position else ""
            yield SourceRow(
                number, None, _json_refusal("", refused, f"the line is {refused}{where}")
            )
            continue
        yield SourceRow(number, body)


class AddressChangeFile:
    """An open address-change file; iterate it for rows, read `position` for progress."""

    def __init__(self, path: Path, *, file_format: str, encoding: str) -> None:
        if file_format not in FORMATS:
            raise FileLayoutError(f"unknown format {file_format!r}; use csv or jsonl")
        if encoding not in ENCODINGS:
            raise FileLayoutError(f"unknown encoding {encoding!r}; use utf-8 or cp932")
        self.path = path
        self.size = path.stat().st_size
        self.raw = path.open("rb")
        self.lines = DecodedLines(self.raw, ENCODINGS[encoding])
        self.file_format = file_format

    def __iter__(self) -> Iterator[SourceRow]:
        if self.file_format == "csv":
            return _read_csv(self.lines)
        return _read_jsonl(self.lines)

    @property
    def position(self) -> int:
        return self.lines.position

    def close(self) -> None:
        self.raw.close()
