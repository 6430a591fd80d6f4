"""An import split into streams side by side (`--streams N`, linkage.bulk.streams) stores
exactly what one stream stores: every person's rows in one stream, in file order, so
attachments, merges and refusals fall as they fall in file order; into a loaded database the
rows of a stored person are tied through what is stored."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management.base import CommandError
from django.db import connection

from linkage.bulk import streams as split
from linkage.bulk.ingest import Importer
from linkage.bulk.streams import Partition
from linkage.models import (
    AddressVersion,
    CrossReference,
    InitialLoad,
    Person,
    PersonMerge,
    ReviewItem,
)

from .conftest import linkage_clear, linkage_snapshot, run_import
from .test_initial_load import schema

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="streams side by side need PostgreSQL"
    ),
]


def tangled(path: Path) -> Path:
    """The generated file with what ties persons across rows: address numbers that also
    arrive without an individual number (before and after it), an address number sent with
    another person's number, and one event id sent twice with different bodies."""
    with path.open(newline="", encoding="utf-8-sig") as source:
        rows = list(csv.DictReader(source))
    columns = list(rows[0].keys())
    extra = []
    for position, row in enumerate(rows):
        if row["number_system"] != "01" and position % 5 == 0:
            row["individual_number"] = ""  # its person is known by the address number only
            later = dict(row, event_id=f"{row['event_id']}-numbered")
            later["individual_number"] = rows[position - 1]["individual_number"]
            extra.append(later)  # the number arrives later on the same address number
    first, second = rows[0], rows[3]
    extra.append(dict(first, event_id="taken", individual_number=second["individual_number"]))
    extra.append(dict(second, event_id=rows[7]["event_id"], number_system=rows[7]["number_system"]))
    tangled_path = path.with_name("tangled.csv")
    with tangled_path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows + extra)
    return tangled_path


def by_person() -> dict[str, Any]:
    """The snapshot with each integrated number named by its person (blind index, or links
    for a person without one): streams issue the same numbers to the same persons, in another
    order."""
    names: dict[str, str] = {}
    for person in Person.objects.all():
        links = sorted(
            CrossReference.objects.filter(person=person).values_list(
                "number_system", "address_number"
            )
        )
        names[person.integrated_number] = person.individual_number_index or json.dumps(links)
    snapshot = linkage_snapshot()
    text = json.dumps(snapshot, sort_keys=True, default=str, ensure_ascii=False)
    ordered = list(Person.objects.order_by("integrated_number"))
    for order in reversed(range(len(ordered))):  # "#12" before "#1"
        name = hashlib.sha256(names[ordered[order].integrated_number].encode()).hexdigest()
        text = text.replace(f"#{order}", f"person-{name[:16]}")
    facts = json.loads(text)
    # Persons by what identifies them; their rank in the order of issue is the streams' own.
    facts["persons"] = sorted([index, number] for index, _, number in facts["persons"])
    return {"facts": facts, "persons": sorted(names.values())}


def cleared() -> None:
    """Everything a load stored removed, merges and their review items included."""
    ReviewItem.objects.all().delete()
    PersonMerge.objects.all().delete()
    Person.objects.update(merged_into=None)
    linkage_clear()
    InitialLoad.objects.all().delete()


def test_two_streams_store_what_one_stream_stores(generated: Callable[..., Path]) -> None:
    path = tangled(generated(persons=80, overlap=0.7, updates=30, bad_share=0.05))
    before = schema()
    summary = run_import(path, "--initial-load", "--streams", "1", "--chunk-size", "13")
    one = by_person()
    one_rejects = path.with_name(path.name + ".rejects.csv").read_text(encoding="utf-8-sig")
    assert "rejected 0" not in summary  # the tangles were refused, as they must be
    merges = sorted(PersonMerge.objects.values_list("cause", flat=True))
    assert merges  # the numbers that arrived later merged persons, in file order
    cleared()

    summary_two = run_import(path, "--initial-load", "--streams", "2", "--chunk-size", "13")

    assert by_person() == one
    assert sorted(PersonMerge.objects.values_list("cause", flat=True)) == merges
    rejects = path.with_name(path.name + ".rejects.csv").read_text(encoding="utf-8-sig")
    assert rejects == one_rejects  # merged from both streams, by line
    assert summary_two.split(" in ")[0] == summary.split(" in ")[0]  # the same counts
    assert not list(path.parent.glob("*.csv.[0-9]"))  # the streams' parts are gone
    assert InitialLoad.objects.get().finished_at is not None
    # Built on two connections side by side: every index, foreign key and trigger is back.
    assert schema() == before
    assert (
        AddressVersion.objects.filter(is_current=True).count()
        == Person.objects.filter(merged_into__isnull=True).count()
    )


def test_the_partition_keeps_tied_rows_together(tmp_path: Path) -> None:
    """Rows tied by an address number that arrives without a number, or with two numbers, or
    by a kept integrated number, share a stream; the sequence goes above the kept numbers."""
    path = tmp_path / "ties.jsonl"
    bodies = [
        {"number_system": "02", "address_number": "7", "individual_number": None},
        {"number_system": "02", "address_number": "7", "individual_number": "123456789018"},
        {"number_system": "01", "address_number": "1", "individual_number": "123456789018"},
        {
            "number_system": "03",
            "address_number": "9",
            "individual_number": "１２３４５６７８９０１８",
        },
        {"number_system": "01", "address_number": "2", "integrated_number": "100000000000024"},
        {"number_system": "04", "address_number": "5", "integrated_number": "100000000000024"},
    ]
    path.write_text("\n".join(json.dumps(body) for body in bodies) + "\n", encoding="utf-8")
    for streams in (2, 3, 5):
        partition = Partition.of_file(path, file_format="jsonl", encoding="utf-8", streams=streams)
        chosen = [partition.stream_of(body, line) for line, body in enumerate(bodies, 1)]
        assert len(set(chosen[:4])) == 1
        assert chosen[4] == chosen[5]
        assert partition.highest_kept == 10000000000002


def test_a_failed_stream_stops_the_load_and_running_it_again_resumes(
    generated: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One stream's process fails on its third chunk (each stream counts its own chunks):
    the command stops with that stream's reason, the load stays unfinished, and running it
    again stores the rest, as one stream would have stored the whole."""
    path = tangled(generated(persons=60, overlap=0.7, updates=20))
    run_import(path, "--initial-load", "--streams", "1", "--chunk-size", "11")
    complete = by_person()
    cleared()

    original = Importer.import_chunk
    calls = {"n": 0}  # a copy in each stream's process

    def failing_on_the_third_chunk(self: Importer, rows: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            # A database's reason may quote a value (a unique key's DETAIL): never a number.
            raise RuntimeError("the disk is full (at event 983205673214)")
        return original(self, rows)

    monkeypatch.setattr(Importer, "import_chunk", failing_on_the_third_chunk)
    with pytest.raises(CommandError, match=r"stream 1: RuntimeError: the disk is full") as failed:
        run_import(path, "--initial-load", "--streams", "2", "--chunk-size", "11")
    assert "(at event ************)" in str(failed.value)
    monkeypatch.setattr(Importer, "import_chunk", original)
    assert InitialLoad.objects.get().loaded_at is None
    assert Person.objects.count() > 0

    summary = run_import(path, "--initial-load", "--streams", "2", "--chunk-size", "11")
    assert "initial load finished" in summary
    assert by_person() == complete
    assert not list(path.parent.glob("*.csv.[0-9]"))


def with_rows(path: Path, name: str, change: Callable[[list[dict[str, str]]], None]) -> Path:
    """A copy of a CSV file whose rows `change` edits or adds to."""
    with path.open(newline="", encoding="utf-8-sig") as source:
        rows = list(csv.DictReader(source))
    columns = list(rows[0].keys())
    change(rows)
    changed = path.with_name(name)
    with changed.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return changed


def test_a_nightly_batch_in_two_streams_stores_what_one_stream_stores(
    generated: Callable[..., Path],
) -> None:
    """Into a loaded database: each moved person's 住基 row comes early in the nightly file,
    and at its end a row from another system it is linked to, sent without the individual
    number, so only what is stored ties the two; and a number sent on a stored numberless
    person's address number merges two stored persons. Two streams store all of it as one
    stream does (each person's versions in file order)."""
    options = {"persons": 60, "overlap": 1.0}
    numberless = {"number_system": "03", "address_number": "880001", "individual_number": ""}
    base = with_rows(
        generated(**options),
        "base.csv",
        lambda rows: rows.append(dict(rows[5], event_id="numberless", **numberless)),
    )
    updates = generated("updates.csv", updates=40, updates_only=True, **options)
    run_import(base, "--streams", "1")
    other_link = {
        person.individual_number: link
        for person in Person.objects.exclude(individual_number_index=None)
        for link in CrossReference.objects.filter(person=person)
        .exclude(number_system="01")
        .values_list("number_system", "address_number")[:1]
    }

    def nightly_rows(rows: list[dict[str, str]]) -> None:
        later = [
            dict(
                row,
                event_id=f"{row['event_id']}-other",
                number_system=other_link[row["individual_number"]][0],
                address_number=other_link[row["individual_number"]][1],
                individual_number="",
            )
            for row in rows
            if row["individual_number"] in other_link
        ]
        assert len(later) > 20
        numbered = rows[len(rows) // 2]
        merging = dict(numbered, event_id="merges", **numberless)
        rows[len(rows) // 2 + 1 : len(rows) // 2 + 1] = [
            dict(merging, individual_number=numbered["individual_number"])
        ]
        rows.extend(later)

    nightly = with_rows(updates, "nightly.csv", nightly_rows)

    def nightly_in(streams: str) -> tuple[dict[str, Any], list[str], str]:
        summary = run_import(nightly, "--streams", streams, "--chunk-size", "7")
        merges = sorted(PersonMerge.objects.values_list("cause", flat=True))
        return by_person(), merges, summary.split(" in ")[0]

    one = nightly_in("1")
    assert one[1]  # the stored persons were merged
    cleared()
    run_import(base, "--streams", "1")
    assert nightly_in("2") == one


@pytest.mark.parametrize("read_rows", [20_000, 2])
def test_the_partition_ties_rows_through_what_is_stored(
    generated: Callable[..., Path],
    tmp_path: Path,
    read_rows: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A stored person's rows share a stream however the file names it: by an address number
    of its (sent without the number), by its individual number, by its integrated number;
    whether the stored persons are read for all rows at once or two rows at a time."""
    monkeypatch.setattr(split, "STORED_READ_ROWS", read_rows)
    run_import(generated(persons=20, overlap=1.0), "--streams", "1")
    links_of = {
        person: list(
            CrossReference.objects.filter(person=person).values_list(
                "number_system", "address_number"
            )
        )
        for person in Person.objects.filter(merged_into__isnull=True)
    }
    person, links = next(
        (person, links)
        for person, links in links_of.items()
        if len(links) >= 2 and person.has_individual_number
    )
    bodies = [
        {"number_system": links[0][0], "address_number": links[0][1], "individual_number": None},
        {"number_system": links[1][0], "address_number": links[1][1], "individual_number": None},
        {
            "number_system": "04",
            "address_number": "5",
            "individual_number": person.individual_number,
        },
        {
            "number_system": "04",
            "address_number": "6",
            "resolution": {"mode": "link", "integrated_number": person.integrated_number},
        },
    ]
    path = tmp_path / "stored.jsonl"
    path.write_text("\n".join(json.dumps(body) for body in bodies) + "\n", encoding="utf-8")
    for streams in (2, 3, 5):
        partition = Partition.of_file(
            path, file_format="jsonl", encoding="utf-8", streams=streams, stored=True
        )
        chosen = {partition.stream_of(body, line) for line, body in enumerate(bodies, 1)}
        assert len(chosen) == 1
    apart = Partition.of_file(path, file_format="jsonl", encoding="utf-8", streams=5)
    assert len({apart.stream_of(body, line) for line, body in enumerate(bodies, 1)}) > 1
