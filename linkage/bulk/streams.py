"""Splitting an import into streams that run side by side, one process each, so the load
uses every core (`import_address_changes --streams N`).

Rows are split by person: every row that determination could tie to another (the same
individual number; an address number that also arrives without an individual number, whose
person the number's rows may attach to or merge with; the same integrated number kept by a
migration or named by a resolution) goes to the same stream, in file order. Two streams
therefore never decide about one person, and each person's history is stored in the order of
the file, as a single stream would store it. Whatever the split misses (an individual number
written two ways, one event id in two streams) is still settled by the unique constraints and
the write path's retry, as for two API clients at once.

The split is read from the file before the load in two light passes over the identifying
columns: the address numbers that arrive with more than one individual number or without one,
then the unions of the rows that share such an address number or an integrated number. Only
those identities are kept, as hashes (the union-find's nodes; a collision only ties more rows
to one stream, as above). The first pass holds one 8-byte word a row (32 bits of a hash of
the address number, 32 of the individual number's crc), sorted in place by numpy: a Python
dict of the same marks took about 125 bytes an address number (502 MiB for 3,598,059 rows), the
peak of a city's initial load. A collision of two address numbers' hashes only ties each to
its own rows; one of two crcs, like a pair the split misses, is settled as described above. A
small file with nothing that ties rows is not read a second time (from about 100,000 address
numbers on, two of the 32-bit hashes meet, and the second pass runs: about 2.5 µs a row).

Into a database that holds persons already (a nightly batch), rows are also tied through what
is stored: the rows of a stored person's address numbers (its own, or of a person merged into
it), of its individual number and of its integrated number share its stream. The first pass
looks up the address numbers, individual numbers (by blind index) and integrated numbers of
STORED_READ_ROWS rows at a time, three set-wise reads, and keeps the stored persons found by
hashes of what named them: 99,961 rows of 45,455 stored persons took 90 MB in the split
before (900 bytes a row: the file's numbers, their blind indexes and the persons by them, all
held at once), so a whole system's file sent again into a city's database would have taken
over a gigabyte.
"""

from __future__ import annotations

import csv
import zlib
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from django.db import connection

from primitives.crypto import blind_index
from primitives.json_safe import json_loads
from primitives.layout import CSV_COLUMNS, ENCODINGS
from primitives.numbers import is_valid_integrated_number

from .files import DecodedLines

# Full-width digits as a sender may write them (the fields accept them).
_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


def _digits(value: Any) -> str:
    """A digit field in one written form: full-width digits as ASCII, anything else dropped
    (spaces and hyphens in an individual number). Most values are ASCII digits already."""
    if value is None:
        return ""
    text = str(value)
    if text.isascii() and text.isdigit():
        return text
    return "".join(character for character in text.translate(_DIGITS) if "0" <= character <= "9")


Identity = tuple[str, str, str, str, str]  # number system, address number, number, kept, target
# Rows whose stored persons are read at once (a nightly batch's split: three reads a chunk).
STORED_READ_ROWS = 20_000
# Pass 1's word for a row: the address number's hash in the high 32 bits, the individual
# number's crc32 in the low (a row without a number: all ones).
_LOW = 0xFFFFFFFF
_NUMBERLESS = _LOW


def _link_hash(system: str, number: str) -> int:
    """32 bits of an address number's hash (within this process: the split is made and used
    in the process that forks the streams)."""
    return hash((system, number)) & _LOW


def _shared_links(words: array[int]) -> set[int]:
    """The address numbers' hashes (see _link_hash) that come with two marks or more."""
    if len(words) < 2:
        return set()
    sorted_words = np.frombuffer(words, dtype=np.uint64)
    sorted_words.sort()
    links = sorted_words >> np.uint64(32)
    twice = (links[1:] == links[:-1]) & (sorted_words[1:] != sorted_words[:-1])
    return {int(link) for link in np.unique(links[1:][twice])}


def identity_of(body: Any) -> Identity | None:
    """What ties a row to a person: its link, individual number, the integrated number it
    keeps (a migration) and the one its resolution names. None for a row that is not an
    object (it is refused whatever stream reads it)."""
    if not isinstance(body, dict):
        return None
    resolution = body.get("resolution")
    target = resolution.get("integrated_number", "") if isinstance(resolution, dict) else ""
    return (
        _digits(body.get("number_system")),
        _digits(body.get("address_number")),
        _digits(body.get("individual_number")),
        _digits(body.get("integrated_number")),
        _digits(target),
    )


def _identities(path: Path, file_format: str, encoding: str) -> Iterator[Identity]:
    """Each row's identity, read with the identifying columns only (rows that cannot be read
    are left out: they are refused wherever they are read). Lines are read as the load reads
    them (files.DecodedLines): one too long to be a change is never held in memory."""
    with path.open("rb") as raw:
        lines = DecodedLines(raw, ENCODINGS[encoding])
        if file_format == "jsonl":
            for line in lines:
                try:
                    found = identity_of(json_loads(line))
                except ValueError:
                    continue
                if found is not None:
                    yield found
            return
        reader = csv.reader(lines)
        header = next(reader, [])
        position = {name: header.index(name) for name in header}
        number_system, address_number, number = (
            position["number_system"],
            position["address_number"],
            position["individual_number"],
        )
        kept, resolution = position.get("integrated_number"), position.get("resolution")
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error:
                continue  # the load itself reports the row; the rows after it still count
            if len(row) != len(header):
                continue
            chosen = row[resolution] if resolution is not None else ""
            yield (
                _digits(row[number_system]),
                _digits(row[address_number]),
                _digits(row[number]),
                _digits(row[kept]) if kept is not None else "",
                _digits(chosen) if chosen != "new" else "",
            )


def _csv_header(path: Path, encoding: str) -> list[str]:
    with path.open("rb") as raw:
        return next(csv.reader(DecodedLines(raw, ENCODINGS[encoding])), [])


def _serial_kept(kept: str) -> int:
    """The sequence serial of an integrated number a row keeps (0 for none or a bad one)."""
    return int(kept[:-1]) if kept and is_valid_integrated_number(kept) else 0


def highest_kept(path: Path, *, file_format: str, encoding: str) -> int:
    """The highest serial of the integrated numbers a file keeps (a migration), read in one
    light pass before a load in one stream (several streams learn it from the split): the
    sequence goes above it before anything is issued, so no number issued early in the file
    meets a number kept later. A CSV file without the column is not read."""
    if file_format == "csv" and "integrated_number" not in _csv_header(path, encoding):
        return 0
    return max(
        (_serial_kept(kept) for *_, kept, _ in _identities(path, file_format, encoding)),
        default=0,
    )


class Partition:
    """Which of `streams` streams reads each row (see the module's docstring)."""

    def __init__(self, streams: int) -> None:
        self.streams = streams
        self.parent: dict[int, int] = {}  # union-find over hashes of what ties rows
        self.highest_kept = 0  # the highest serial of the integrated numbers kept
        # A stored person's id (its representative's, if merged) by what the file names it by:
        # the address number and the individual number by their hashes (a collision only ties
        # more rows together). Needed only while the split is read.
        self.owners: dict[int, int] = {}  # hash of (number system, address number)
        self.holders: dict[int, int] = {}  # hash of the individual number
        self.numbered: dict[str, int] = {}  # integrated number

    @classmethod
    def of_file(
        cls, path: Path, *, file_format: str, encoding: str, streams: int, stored: bool = False
    ) -> Partition:
        """The split of a file; `stored`: the database holds persons the rows may be about."""
        columns = _csv_header(path, encoding)[: len(CSV_COLUMNS)] if file_format == "csv" else []
        if file_format == "csv" and columns != list(CSV_COLUMNS):
            return cls(1)  # the load itself refuses the file
        partition = cls(streams)
        # Pass 1: each row's word (an address number's hash and the mark of its individual
        # number); the integrated numbers kept or named; the stored persons the rows name,
        # read a chunk of rows at a time.
        words = array("Q")
        integrated = False
        unread: list[Identity] = []
        for identity in _identities(path, file_format, encoding):
            system, number, individual, kept, target = identity
            mark = zlib.crc32(individual.encode()) if individual else _NUMBERLESS
            words.append(_link_hash(system, number) << 32 | mark)
            if kept or target:
                integrated = True
                partition.highest_kept = max(partition.highest_kept, _serial_kept(kept))
            if stored:
                unread.append(identity)
                if len(unread) == STORED_READ_ROWS:
                    partition._stored_read(unread)
                    unread.clear()
        if unread:
            partition._stored_read(unread)
        shared = _shared_links(words)
        del words, unread
        if not stored and not shared and not integrated:
            return partition  # nothing ties one row to another
        # Pass 2: the rows of a shared address number are tied to it, and so to each other;
        # the rows of a stored person to that person.
        for identity in _identities(path, file_format, encoding):
            partition._tie(identity, _link_hash(*identity[:2]) in shared)
        partition.owners, partition.holders, partition.numbered = {}, {}, {}
        return partition

    def _stored_read(self, identities: list[Identity]) -> None:
        """The stored persons that rows' address numbers, individual numbers and integrated
        numbers name, each by its representative's id: three set-wise reads."""
        links = {(system, number) for system, number, *_ in identities}
        indexes = {blind_index(number): number for _, _, number, _, _ in identities if number}
        integrated = {number for *_, kept, target in identities for number in (kept, target)}
        integrated.discard("")
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT c.number_system, c.address_number, COALESCE(p.merged_into_id, p.id)
                FROM unnest(%s::text[], %s::text[]) AS f (number_system, address_number)
                JOIN linkage_crossreference c USING (number_system, address_number)
                JOIN linkage_person p ON p.id = c.person_id
                """,
                [[system for system, _ in links], [number for _, number in links]],
            )
            self.owners.update((hash((system, number)), owner) for system, number, owner in cursor)
            cursor.execute(
                "SELECT individual_number_index, COALESCE(merged_into_id, id) "
                "FROM linkage_person WHERE individual_number_index = ANY(%s)",
                [list(indexes)],
            )
            self.holders.update((hash(indexes[index]), holder) for index, holder in cursor)
            if integrated:
                cursor.execute(
                    "SELECT integrated_number, COALESCE(merged_into_id, id) "
                    "FROM linkage_person WHERE integrated_number = ANY(%s)",
                    [list(integrated)],
                )
                self.numbered.update(cursor.fetchall())

    def _tie(self, identity: Identity, shared: bool) -> None:
        system, number, individual, kept, target = identity
        key = self._key(identity)
        if shared:
            self._union(key, hash(("l", system, number)))
        for integrated in (kept, target):
            if integrated:
                self._union(key, hash(("i", integrated)))
                if (person := self.numbered.get(integrated)) is not None:
                    self._union(key, hash(("p", person)))
        for person in (
            self.owners.get(hash((system, number))),
            self.holders.get(hash(individual)) if individual else None,
        ):
            if person is not None:
                self._union(key, hash(("p", person)))

    @staticmethod
    def _key(identity: Identity) -> int:
        """A row's own node: its individual number, else its address number (a hash: two
        that collide only tie more rows together)."""
        system, number, individual, _, _ = identity
        return hash(("n", individual)) if individual else hash(("l", system, number))

    def _find(self, key: int) -> int:
        parent = self.parent
        while (up := parent.get(key, key)) != key:
            parent[key] = grand = parent.get(up, up)  # path halving
            key = grand
        return key

    def _union(self, first: int, second: int) -> None:
        first, second = self._find(first), self._find(second)
        if first != second:
            self.parent[max(first, second)] = min(first, second)

    def stream_of(self, body: Any, line: int) -> int:
        """The stream that reads a row (a row that is not an object: by its line). The nodes
        are hashes of this process, which the streams' processes inherit (forked)."""
        if self.streams == 1:
            return 0
        identity = identity_of(body)
        if identity is None:
            return line % self.streams
        return self._find(self._key(identity)) % self.streams
