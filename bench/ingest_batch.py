#!/usr/bin/env python
"""Benchmark: bulk import of address-change files into PostgreSQL, against COPY.

Generates a file of about N changes (4 systems, 60% of persons in more than one) and a
nightly file of M later changes (moves) of the same persons, then in one run:

1. the initial load, `import_address_changes --initial-load` into an empty database, timed
   end to end (the chunks, then the history rows, the index builds and the foreign keys);
2. the nightly batch, an ordinary import with every index and trigger live;
3. the references: a COPY of the initial file into a plain text table (moving the bytes in),
   and a COPY of the nightly batch's own final rows into the same tables, every index and
   trigger live (the floor for any loader: the rows are exported, deleted and copied back).

Prints changes/s, the ratios, each import's peak memory and the projected time for a
Yokohama-size initial load.

    .venv/bin/python bench/ingest_batch.py [--changes 1000000] [--updates 100000]

Creates and drops its own database `linkage_batch_bench`; files go to a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

from bench.common import SERVER, environment, manage, recreate_database, sandbox  # noqa: E402

DATABASE = "linkage_batch_bench"
YOKOHAMA_RESIDENTS = 3_750_000
CSV_COLUMNS = (  # docs/bulk-import.md
    "event_id", "number_system", "address_number", "individual_number", "changed_at", "name",
    "name_kana", "birth_date", "sex", "address", "data_type", "confirmed_at", "items",
)  # fmt: skip
FINISHED = re.compile(
    r"initial load finished: .* in (?P<finish>[\d.]+) s; (?P<total>[\d.]+) s in all"
)
# The tables an import writes, in the order their rows may be copied in (foreign keys first).
WRITTEN = (
    "linkage_person", "linkage_coderequest", "linkage_coderequesttransition",
    "linkage_addresschangereceipt", "linkage_addressversion", "linkage_crossreference",
    "linkage_businessinformation", "linkage_notice",
)  # fmt: skip
SUMMARY = re.compile(
    r"read (?P<read>\d+), registered (?P<registered>\d+), updated (?P<updated>\d+), "
    r"unchanged (?P<unchanged>\d+), "
    r"duplicates (?P<duplicates>\d+), rejected (?P<rejected>\d+) in (?P<seconds>[\d.]+) s "
    r"\((?P<rate>[\d,]+) rows/s, (?P<streams>\d+) streams?\), peak memory (?P<rss>\d+) MiB"
)


def imported(env: dict[str, str], path: Path, *options: str) -> dict[str, float]:
    out = manage(env, "import_address_changes", str(path), "--no-progress", *options)
    match = SUMMARY.search(out)
    if match is None:
        raise SystemExit(f"unexpected import output: {out}")
    figures = {name: float(value.replace(",", "")) for name, value in match.groupdict().items()}
    finished = FINISHED.search(out)
    if finished is not None:
        figures |= {name: float(value) for name, value in finished.groupdict().items()}
    return figures


def watermarks() -> dict[str, int]:
    found: dict[str, int] = {}
    with psycopg.connect(f"{SERVER}/{DATABASE}") as conn:
        for table in WRITTEN:
            query = sql.SQL("SELECT COALESCE(MAX(id), 0) FROM {}").format(sql.Identifier(table))
            row = conn.execute(query).fetchone()
            found[table] = int(row[0]) if row else 0
    return found


def final_rows_copy(before: dict[str, int]) -> float:
    """Seconds to COPY the rows written since `before` back into their tables, every index,
    trigger and foreign key live: they are exported, deleted, then copied in, in one
    transaction (its commit, where deferred checks run, included)."""
    exported: dict[str, bytes] = {}
    with psycopg.connect(f"{SERVER}/{DATABASE}") as conn:
        for table in WRITTEN:
            data = bytearray()
            with conn.cursor().copy(
                sql.SQL("COPY (SELECT * FROM {} WHERE id > {}) TO STDOUT").format(
                    sql.Identifier(table), sql.Literal(before[table])
                )
            ) as copy:
                for block in copy:
                    data += block
            exported[table] = bytes(data)
        for table in reversed(WRITTEN):
            conn.execute(
                sql.SQL("DELETE FROM {} WHERE id > {}").format(
                    sql.Identifier(table), sql.Literal(before[table])
                )
            )
        conn.commit()
        started = time.perf_counter()
        # Each foreign key checked as its row arrives: queued deferred checks would make every
        # history trigger's exception block rescan the queue (the importer does the same).
        conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table in WRITTEN:
            with conn.cursor().copy(
                sql.SQL("COPY {} FROM STDIN").format(sql.Identifier(table))
            ) as copy:
                copy.write(exported[table])
        conn.commit()
        return time.perf_counter() - started


def copy_reference(path: Path) -> tuple[int, float]:
    """COPY the file's rows into a plain table: the rate of just moving the bytes in."""
    columns = ", ".join(f"{name} text" for name in CSV_COLUMNS)
    with psycopg.connect(f"{SERVER}/{DATABASE}", autocommit=True) as conn:
        conn.execute(f"CREATE TABLE copy_reference ({columns})")
        started = time.perf_counter()
        with (
            conn.cursor() as cursor,
            cursor.copy("COPY copy_reference FROM STDIN (FORMAT csv, HEADER true)") as copy,
            path.open("rb") as source,
        ):
            while block := source.read(1 << 20):
                copy.write(block)
        seconds = time.perf_counter() - started
        (rows,) = conn.execute("SELECT count(*) FROM copy_reference").fetchone() or (0,)
    return int(rows), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--changes", type=int, default=1_000_000)
    parser.add_argument("--updates", type=int, default=100_000)
    parser.add_argument("--overlap", type=float, default=0.6)
    options = parser.parse_args()
    # Every person is in 住基; an overlapping one is in 1-3 more systems (2 on average).
    rows_per_person = 1 + options.overlap * 2
    persons = round(options.changes / rows_per_person)

    recreate_database(DATABASE)
    env = environment(
        "config.settings.production", DATABASE, CELERY_BROKER_URL="redis://127.0.0.1:6379/12"
    )
    manage(env, "migrate", "--no-input")
    subprocess.run(["redis-cli", "-n", "12", "flushdb"], check=True, capture_output=True)

    with tempfile.TemporaryDirectory(prefix="ingest-batch-") as folder:
        initial, updates = Path(folder) / "initial.csv", Path(folder) / "updates.csv"
        started = time.perf_counter()
        common = ["--systems=4", f"--overlap={options.overlap}", "--seed=2026"]
        print(f"generating {persons:,} persons ...", flush=True)
        generator = sandbox(env)
        manage(
            generator, "generate_address_changes", f"--persons={persons}", f"--out={initial}",
            *common,
        )  # fmt: skip
        manage(
            generator, "generate_address_changes", f"--persons={persons}", f"--out={updates}",
            f"--updates={options.updates}", "--updates-only", *common,
        )  # fmt: skip
        print(f"generated in {time.perf_counter() - started:.0f} s", flush=True)

        print("importing the initial load (--initial-load) ...", flush=True)
        first = imported(env, initial, "--initial-load")
        print("importing the nightly batch ...", flush=True)
        before = watermarks()
        second = imported(env, updates)
        print("copying the nightly batch's final rows back in ...", flush=True)
        reference_seconds = final_rows_copy(before)
        copied, copy_seconds = copy_reference(initial)
        size_mib = initial.stat().st_size / 2**20

    first_rate = first["read"] / first["total"]
    copy_rate = copied / copy_seconds
    reference_rate = second["read"] / reference_seconds
    print()
    print(f"measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores")
    print(f"initial load: {first['read']:,.0f} changes ({size_mib:.0f} MiB), "
          f"{first['registered']:,.0f} persons registered, {first['updated']:,.0f} updates, "
          f"{first['rejected']:,.0f} rejected")  # fmt: skip
    print(f"  {first_rate:,.0f} changes/s end to end in {first['total']:.0f} s "
          f"(chunks {first['seconds']:.0f} s at {first['rate']:,.0f}/s; history, indexes and "
          f"foreign keys {first['finish']:.0f} s), peak memory {first['rss']:.0f} MiB")  # fmt: skip
    print(f"  COPY of the file into a plain text table: {copy_rate:,.0f} rows/s")
    yokohama = YOKOHAMA_RESIDENTS * rows_per_person
    hours = yokohama / first_rate / 3600
    print(f"  projected Yokohama initial load ({YOKOHAMA_RESIDENTS:,} residents, "
          f"{yokohama:,.0f} changes at this overlap): {hours:.1f} h")  # fmt: skip
    print(f"nightly batch: {second['read']:,.0f} changes into {first['registered']:,.0f} "
          f"persons, {second['rate']:,.0f} changes/s in {second['seconds']:.0f} s, "
          f"peak memory {second['rss']:.0f} MiB")  # fmt: skip
    print(f"  COPY of its final rows into the same tables: {reference_rate:,.0f} changes/s "
          f"({reference_seconds:.1f} s)")  # fmt: skip
    print(f"  ratio to that COPY: {second['rate'] / reference_rate:.2f}")
    print(
        "targets: initial load >= 15,000 changes/s end to end, peak memory <= 500 MB; "
        "nightly >= 0.8 x the COPY of its final rows"
    )


if __name__ == "__main__":
    main()
