"""Reading address-change files: CSV (the layout in docs/bulk-import.md) or JSON Lines (one
API body per line), in UTF-8 or Shift_JIS (CP932), streamed so memory does not grow with the
file. Each row comes with its line number; a line whose bytes are not valid in the declared
encoding is reported as such, never decoded with replacement characters."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from primitives.layout import CSV_COLUMNS, ENCODINGS, FORMATS, OPTIONAL_COLUMNS, PERSON_COLUMNS

from .rows import RowError


class FileLayoutError(ValueError):
    """The file as a whole cannot be read (wrong header, unknown format): nothing is imported."""


@dataclass(frozen=True)
class SourceRow:
    line: int
    body: dict[str, Any] | None
    error: RowError | None = None


class _DecodedLines:
    """Physical lines decoded strictly; an undecodable line becomes an empty line whose number
    is remembered, so the CSV reader keeps counting lines and the row can be reported."""

    def __init__(self, raw: IO[bytes], encoding: str) -> None:
        self.raw = raw
        self.encoding = encoding
        self.number = 0
        self.undecodable: dict[int, str] = {}

    def __iter__(self) -> _DecodedLines:
        return self

    def __next__(self) -> str:
        data = self.raw.readline()
        if not data:
            raise StopIteration
        self.number += 1
        try:
            text = data.decode(self.encoding)
        except UnicodeDecodeError as error:
            self.undecodable[self.number] = (
                f"the line is not valid {self.encoding} (byte {error.start + 1})"
            )
            return "\n"
        if self.number == 1:
            text = text.removeprefix("\ufeff")
        return text

    @property
    def position(self) -> int:
        return self.raw.tell()


def _encoding_error(message: str) -> RowError:
    return RowError("", "encoding", message)


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
                business["items"] = json.loads(record["items"])
            except ValueError:
                return body, RowError(
                    "business.items", "invalid_json", 'must be a JSON object, e.g. {"key": 1}'
                )
        body["business"] = business
    return body, None


def _read_csv(lines: _DecodedLines) -> Iterator[SourceRow]:
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
        1 in lines.undecodable
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
        bad = [lines.undecodable[n] for n in range(start, end + 1) if n in lines.undecodable]
        if bad:
            yield SourceRow(start, None, _encoding_error(bad[0]))
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


def _read_jsonl(lines: _DecodedLines) -> Iterator[SourceRow]:
    for text in lines:
        number = lines.number
        if number in lines.undecodable:
            yield SourceRow(number, None, _encoding_error(lines.undecodable[number]))
            continue
        if not text.strip():
            continue
        try:
            body = json.loads(text)
        except ValueError:
            yield SourceRow(number, None, RowError("", "invalid_json", "the line is not JSON"))
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
        self.lines = _DecodedLines(self.raw, ENCODINGS[encoding])
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
