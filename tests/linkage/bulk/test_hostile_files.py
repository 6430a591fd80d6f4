"""A vendor's file with lines the API would refuse, or no parser should hold: each line is
refused with its reason, the rest is imported, memory stays bounded, the report is readable
and holds no individual number."""

from __future__ import annotations

import csv
import json
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from linkage.bulk.files import LINE_BYTES_MAX, AddressChangeFile
from linkage.bulk.streams import Partition
from linkage.masking import MASK
from linkage.models import Person
from tests.factories import resident

from .conftest import run_import

pytestmark = pytest.mark.django_db

DEEP = "[" * 5000 + "]" * 5000


def rejects_of(path: Path) -> list[list[str]]:
    with path.with_name(path.name + ".rejects.csv").open(encoding="utf-8-sig") as report:
        return list(csv.reader(report))[1:]


def reasons(rows: list[list[str]]) -> dict[str, tuple[str, str]]:
    """Each rejected line's first (field, code)."""
    found: dict[str, tuple[str, str]] = {}
    for line, _event_id, field, code, _message in rows:
        found.setdefault(line, (field, code))
    return found


def test_each_hostile_json_line_is_refused_with_its_reason_and_the_rest_imported(
    tmp_path: Path, generated: Callable[..., Path]
) -> None:
    number = resident().individual_number
    good = generated("good.jsonl", persons=3, overlap=0.0).read_text(encoding="utf-8")
    hostile = [
        '{"event_id": "deep", "a": ' + DEEP + "}",  # deeper than the decoder goes
        '{"event_id": "twice", "event_id": "again"}',
        "[" + ",".join(['{"event_id": "x"}'] * 30_000) + "]",  # a JSON array on one line
        json.dumps({"event_id": number, "number_system": "01"}),  # a misaligned export
        '{"event_id": "\\ud800x", "number_system": "01"}',  # no UTF-8 file can hold it
        '{"event_id": "key", "\\ud800": 1}',
    ]
    path = tmp_path / "hostile.jsonl"
    path.write_text(good + "\n".join(hostile) + "\n", encoding="utf-8")
    first = good.count("\n") + 1

    summary = run_import(path)

    assert "registered 3," in summary and "rejected 6 " in summary
    assert Person.objects.count() == 3
    rows = rejects_of(path)
    assert reasons(rows) == {
        str(first): ("", "invalid_json"),
        str(first + 1): ("", "duplicate_key"),
        str(first + 2): ("", "too_long"),
        str(first + 3): ("address_number", "required"),
        str(first + 4): ("event_id", "control_characters"),
        str(first + 5): ("", "invalid_unicode"),
    }
    by_line = {line: (event_id, message) for line, event_id, _, _, message in rows}
    assert by_line[str(first)][1] == "the line is not valid JSON: nested too deeply"
    assert by_line[str(first + 2)][1] == f"the line is longer than {LINE_BYTES_MAX:,} bytes"
    assert by_line[str(first + 3)][0] == MASK
    assert by_line[str(first + 4)][0] == "\ufffdx"
    report = path.with_name(path.name + ".rejects.csv").read_text(encoding="utf-8-sig")
    assert number not in report


def test_the_split_into_streams_reads_the_same_hostile_lines_without_failing(
    tmp_path: Path, generated: Callable[..., Path]
) -> None:
    good = generated("good.jsonl", persons=3, overlap=0.0).read_text(encoding="utf-8")
    path = tmp_path / "hostile.jsonl"
    path.write_text(good + '{"a": ' + DEEP + "}\n" + "x" * (LINE_BYTES_MAX * 3) + "\n")

    partition = Partition.of_file(path, file_format="jsonl", encoding="utf-8", streams=2)

    assert partition.streams == 2


def test_a_csv_row_whose_items_the_api_would_refuse_is_refused_as_the_api_does(
    tmp_path: Path, generated: Callable[..., Path]
) -> None:
    path = generated("good.csv", persons=2, overlap=0.0)
    _header, *rows = path.read_text(encoding="utf-8").splitlines()
    twice, deep = next(csv.reader([rows[0]])), next(csv.reader([rows[1]]))
    twice[0], twice[10], twice[12] = "items-twice", "household", '{"a": 1, "a": 2}'
    deep[0], deep[10], deep[12] = "items-deep", "household", '{"a": ' + DEEP + "}"
    with path.open("a", encoding="utf-8", newline="") as out:
        csv.writer(out, lineterminator="\n").writerows([twice, deep])

    summary = run_import(path)

    assert "registered 2," in summary and "rejected 2 " in summary
    assert [(row[1], row[2], row[3]) for row in rejects_of(path)] == [
        ("items-twice", "business.items", "duplicate_key"),
        ("items-deep", "business.items", "invalid_json"),
    ]


def test_a_line_too_long_to_be_a_change_is_never_held_in_memory(tmp_path: Path) -> None:
    path = tmp_path / "one-line.jsonl"
    with path.open("wb") as out:
        for _ in range(40):
            out.write(b"x" * (1 << 20))  # 40 MiB without a line break
        out.write(b"\n{}\n")

    tracemalloc.start()
    try:
        source = AddressChangeFile(path, file_format="jsonl", encoding="utf-8")
        read = [(row.line, row.error.code if row.error else None) for row in source]
        source.close()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert read == [(1, "too_long"), (2, None)]
    assert peak < 4 * (1 << 20)
