#!/usr/bin/env python
"""Benchmark: bulk import of address-change files into PostgreSQL, against plain COPY.

Generates a file of about N changes (4 systems, 60% of persons in more than one), imports it
into an empty database, then imports a second file of M later changes (moves) of the same
persons; in the same run COPYs the first file's rows into a plain 13-column text table, the
physical floor. Prints changes/s for both imports, the ratio to COPY, each import's peak
resident memory, and the projected time for a Yokohama-size initial load.

    .venv/bin/python bench/ingest_batch.py [--changes 1000000] [--updates 100000]

Creates and drops its own database `linkage_batch_bench`; files go to a temporary folder.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from bench.common import SERVER, environment, manage, recreate_database, sandbox  # noqa: E402

DATABASE = "linkage_batch_bench"
YOKOHAMA_RESIDENTS = 3_750_000
CSV_COLUMNS = (  # docs/bulk-import.md
    "event_id", "number_system", "address_number", "individual_number", "changed_at", "name",
    "name_kana", "birth_date", "sex", "address", "data_type", "confirmed_at", "items",
)  # fmt: skip
SUMMARY = re.compile(
    r"read (?P<read>\d+), registered (?P<registered>\d+), updated (?P<updated>\d+), "
    r"duplicates (?P<duplicates>\d+), rejected (?P<rejected>\d+) in (?P<seconds>[\d.]+) s "
    r"\((?P<rate>[\d,]+) rows/s\), peak memory (?P<rss>\d+) MiB"
)


def imported(env: dict[str, str], path: Path) -> dict[str, float]:
    out = manage(env, "import_address_changes", str(path), "--no-progress")
    match = SUMMARY.search(out)
    if match is None:
        raise SystemExit(f"unexpected import output: {out}")
    return {name: float(value.replace(",", "")) for name, value in match.groupdict().items()}


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

        print("importing the initial load ...", flush=True)
        first = imported(env, initial)
        print("importing the updates ...", flush=True)
        second = imported(env, updates)
        copied, copy_seconds = copy_reference(initial)
        size_mib = initial.stat().st_size / 2**20

    copy_rate = copied / copy_seconds
    print()
    print(f"initial load: {first['read']:,.0f} changes ({size_mib:.0f} MiB), "
          f"{first['registered']:,.0f} persons registered, {first['updated']:,.0f} updates, "
          f"{first['rejected']:,.0f} rejected")  # fmt: skip
    print(f"  {first['rate']:,.0f} changes/s in {first['seconds']:.0f} s, "
          f"peak memory {first['rss']:.0f} MiB")  # fmt: skip
    print(f"updates: {second['read']:,.0f} changes, {second['rate']:,.0f} changes/s in "
          f"{second['seconds']:.0f} s, peak memory {second['rss']:.0f} MiB")  # fmt: skip
    print(f"COPY of the same rows into a plain table: {copy_rate:,.0f} rows/s")
    print(f"ratio to COPY: {first['rate'] / copy_rate:.3f}")
    yokohama = YOKOHAMA_RESIDENTS * rows_per_person
    print(f"projected Yokohama initial load ({YOKOHAMA_RESIDENTS:,} residents, "
          f"{yokohama:,.0f} changes at this overlap): "
          f"{yokohama / first['rate'] / 3600:.1f} h")  # fmt: skip
    print("targets: >= 50,000 changes/s, ratio to COPY >= 0.05, peak memory <= 500 MB")


if __name__ == "__main__":
    main()
