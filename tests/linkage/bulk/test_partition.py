"""The split of a file into streams reads its first pass into one word a row
(linkage.bulk.streams): the address numbers met with two marks are found exactly, and a file
in which no row is tied to another is read once (a small one: see linkage.bulk.streams)."""

from __future__ import annotations

import json
import tracemalloc
from array import array
from collections.abc import Iterator
from pathlib import Path

import pytest

from linkage.bulk import streams
from linkage.bulk.streams import Partition, _link_hash, _shared_links

NUMBER = "123456789018"
OTHER = "234567890123"


def word(system: str, number: str, individual: str) -> int:
    mark = streams.zlib.crc32(individual.encode()) if individual else streams._NUMBERLESS
    return _link_hash(system, number) << 32 | mark


def test_an_address_number_is_shared_when_it_comes_with_two_marks() -> None:
    words = array(
        "Q",
        [
            word("01", "1", NUMBER),
            word("02", "2", NUMBER),
            word("01", "1", NUMBER),  # the same number again: not shared
            word("02", "2", ""),  # once without a number: shared
            word("03", "3", NUMBER),
            word("03", "3", OTHER),  # two numbers: shared
            word("04", "4", ""),
            word("04", "4", ""),
        ],
    )
    assert _shared_links(words) == {_link_hash("02", "2"), _link_hash("03", "3")}
    assert _shared_links(array("Q", [word("01", "1", NUMBER)])) == set()


def write(path: Path, bodies: list[dict[str, str]]) -> Path:
    path.write_text("\n".join(json.dumps(body) for body in bodies) + "\n", encoding="utf-8")
    return path


def passes(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The file reads of the split, recorded."""
    read: list[Path] = []
    identities = streams._identities

    def counted(path: Path, file_format: str, encoding: str) -> Iterator[streams.Identity]:
        read.append(path)
        return identities(path, file_format, encoding)

    monkeypatch.setattr(streams, "_identities", counted)
    return read


def test_a_file_without_ties_is_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    read = passes(monkeypatch)
    bodies = [
        {"number_system": "01", "address_number": str(serial), "individual_number": f"{serial}"}
        for serial in range(1, 200)
    ]
    partition = Partition.of_file(
        write(tmp_path / "plain.jsonl", bodies), file_format="jsonl", encoding="utf-8", streams=2
    )
    assert len(read) == 1
    assert partition.parent == {}
    assert {partition.stream_of(body, line) for line, body in enumerate(bodies, 1)} == {0, 1}


def test_a_file_with_ties_is_read_twice_and_keeps_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read = passes(monkeypatch)
    bodies = [
        {"number_system": "02", "address_number": "7", "individual_number": ""},
        *(
            {"number_system": "01", "address_number": str(serial), "individual_number": str(serial)}
            for serial in range(1, 50)
        ),
        {"number_system": "02", "address_number": "7", "individual_number": NUMBER},
        {"number_system": "01", "address_number": "99", "individual_number": NUMBER},
    ]
    for count in (2, 3, 5):
        partition = Partition.of_file(
            write(tmp_path / "tied.jsonl", bodies),
            file_format="jsonl",
            encoding="utf-8",
            streams=count,
        )
        chosen = [partition.stream_of(body, line) for line, body in enumerate(bodies, 1)]
        assert chosen[0] == chosen[-2] == chosen[-1]
    assert len(read) == 6


def test_the_split_holds_a_few_bytes_a_row(tmp_path: Path) -> None:
    """Issue 13's initial load peaks at 500 MB at most, and the split grows with the file:
    its first pass holds one 8-byte word a row (measured with this test's 50,000 rows: 45
    bytes a row at the peak, the sort's temporaries included; the dict it replaced, 137)."""
    rows = 50_000
    bodies = [
        {"number_system": "01", "address_number": str(n), "individual_number": str(10**11 + n)}
        for n in range(rows)
    ]
    path = write(tmp_path / "city.jsonl", bodies)
    del bodies
    tracemalloc.start()
    try:
        Partition.of_file(path, file_format="jsonl", encoding="utf-8", streams=2)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak / rows < 80
