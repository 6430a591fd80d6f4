#!/usr/bin/env python
"""Benchmark: the clerks' search and the changed-resident list on 1,000,000 persons.

Loads N persons into a fresh PostgreSQL database with the bulk import (from the synthetic
generator), spreads their registration times over the last year, then times, in this
process and through the same filters and selectors as the screens and the API (each search
as the screen runs it: the count, which stops past 1,000 matches, and the first page of 50):

- name partial: a family name in kanji (mostly 2 characters), and in kana typed in hiragana
- address partial: a town name
- exact: individual number (blind index) and integrated number
- the changed-resident list of one day (count and first page; and the whole list as the
  CSV export reads it)
- candidate search (SPEC 10.2): a stored person's basic items with the kana in half width,
  the same with the birth day mistyped, and name and kana only

Prints p50/p95/p99 in milliseconds and the rows matched, against the targets: p95 <= 50 ms
for partial searches, <= 10 ms for exact ones, <= 100 ms for one day's list.

    .venv/bin/python bench/search.py [--persons 1000000] [--searches 1000]

Creates and drops its own database `linkage_search_bench`.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from bench.common import SERVER, environment, manage, recreate_database, sandbox  # noqa: E402

DATABASE = "linkage_search_bench"
PAGE = 50


def load(env: dict[str, str], persons: int, path: Path) -> None:
    """Import `persons` residents (one system) from a generated file at `path`."""
    started = time.perf_counter()
    manage(sandbox(env), "generate_address_changes", f"--persons={persons}", f"--out={path}",
           "--systems=1", "--overlap=0", "--seed=2026")  # fmt: skip
    print(f"generated {persons:,} persons in {time.perf_counter() - started:.0f} s", flush=True)
    started = time.perf_counter()
    manage(env, "import_address_changes", str(path), "--no-progress")
    print(f"imported in {time.perf_counter() - started:.0f} s", flush=True)


def spread_registration_times() -> None:
    """Registration times over the last 365 days (about N/365 changes a day), increasing with
    the row id as when the rows arrive over a year: one day's changes lie together on disk,
    as they do in a running system."""
    with psycopg.connect(f"{SERVER}/{DATABASE}", autocommit=True) as conn:
        conn.execute(
            "UPDATE linkage_addressversion SET registered_at = now() - interval '365 days' "
            "* (1 - id::float / (SELECT max(id) FROM linkage_addressversion))"
        )
        conn.execute("VACUUM ANALYZE")


def timed(name: str, queries: list[Any], run: Callable[[Any], int]) -> None:
    run(queries[0])  # warm the connection and the plan cache
    times, matched = [], []
    for query in queries:
        started = time.perf_counter()
        matched.append(run(query))
        times.append((time.perf_counter() - started) * 1000)
    cuts = statistics.quantiles(times, n=100)
    print(f"{name:<44} p50 {cuts[49]:7.1f}  p95 {cuts[94]:7.1f}  p99 {cuts[98]:7.1f} ms"
          f"  (matched: median {statistics.median(matched):,.0f}, max {max(matched):,})",
          flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--searches", type=int, default=1000)
    parser.add_argument(
        "--keep",
        type=Path,
        help="a folder keeping the database's keys and file: a later run with it skips the load",
    )
    options = parser.parse_args()

    folder = options.keep or Path(tempfile.mkdtemp(prefix="search-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    path, saved = folder / "persons.csv", folder / "environment.json"
    if options.keep and saved.exists():
        env = {**os.environ, **json.loads(saved.read_text())}
        print(f"reusing the database loaded from {path}", flush=True)
    else:
        env = environment(
            "config.settings.production", DATABASE, CELERY_BROKER_URL="redis://127.0.0.1:6379/13"
        )
        recreate_database(DATABASE)
        manage(env, "migrate", "--no-input")
        load(env, options.persons, path)
        spread_registration_times()
        saved.write_text(json.dumps({k: v for k, v in env.items() if k not in os.environ}))
    with path.open(encoding="utf-8", newline="") as source:
        rows = list(csv.DictReader(source))

    os.environ.update(env)
    import django

    django.setup()
    import jaconv
    from django.core.paginator import Paginator

    from linkage.filters import PersonSearchFilter
    from linkage.paging import CappedPaginator
    from linkage.selectors import changed_residents, person_by_individual_number, persons_current

    sample = random.Random(7).sample(rows, options.searches)

    def search(**criteria: str) -> int:
        filterset = PersonSearchFilter(criteria, queryset=persons_current())
        assert filterset.is_valid(), filterset.errors
        page = CappedPaginator(filterset.qs, PAGE).get_page(1)
        list(page)
        return page.paginator.count

    def family_name(row: dict[str, str]) -> str:
        return row["name"].split()[0]

    def by_integrated_number(number: str) -> int:
        return search(integrated_number=number)

    def by_individual_number(number: str) -> int:
        return 1 if person_by_individual_number(number) is not None else 0

    def one_day(day: str) -> int:
        date = datetime.date.fromisoformat(day)
        page = Paginator(changed_residents(date_from=date, date_to=date), PAGE).get_page(1)
        list(page)
        return page.paginator.count

    def one_day_whole(day: str) -> int:
        date = datetime.date.fromisoformat(day)
        return sum(1 for _ in changed_residents(date_from=date, date_to=date).iterator(2000))

    from linkage.models import Person

    numbers = list(
        Person.objects.order_by("?").values_list("integrated_number", flat=True)[: options.searches]
    )
    from django.utils import timezone

    today = timezone.localdate()
    days = [(today - datetime.timedelta(days=random.Random(n).randrange(1, 364))).isoformat()
            for n in range(options.searches)]  # fmt: skip

    print(f"\n{options.persons:,} persons, {options.searches:,} searches of each kind "
          f"(count + first page of {PAGE})")  # fmt: skip
    timed("name, kanji family name (partial)", [family_name(r) for r in sample],
          lambda q: search(name=q))  # fmt: skip
    timed("kana, family name typed in hiragana (partial)",
          [jaconv.kata2hira(r["name_kana"].split()[0]) for r in sample],
          lambda q: search(name=q))  # fmt: skip
    timed("kana, full name with given name (partial)",
          [jaconv.kata2hira(r["name_kana"]) for r in sample], lambda q: search(name=q))  # fmt: skip
    timed("address, town (partial)", [r["address"][3:8] for r in sample],
          lambda q: search(address=q))  # fmt: skip
    timed("individual number (exact)", [r["individual_number"] for r in sample],
          by_individual_number)  # fmt: skip
    timed("integrated number (exact)", numbers, by_integrated_number)
    timed("changed residents, one day (page)", days, one_day)
    timed("changed residents, one day (whole list)", days[:100], one_day_whole)
    from linkage.matching.search import Query, candidates_find

    def row_query(row: dict[str, str]) -> Query:
        return Query(
            name=row["name"],
            name_kana=jaconv.z2h(row["name_kana"], kana=True),  # another system's form
            birth_date=datetime.date.fromisoformat(row["birth_date"]),
            sex=row["sex"],
            address=row["address"],
        )

    def candidates(row: dict[str, str]) -> int:
        return len(candidates_find(row_query(row), limit=20))

    def candidates_typo(row: dict[str, str]) -> int:
        query = row_query(row)
        born = datetime.date.fromisoformat(row["birth_date"])
        mistyped = born.replace(day=1 if born.day != 1 else 2)
        return len(candidates_find(dataclasses.replace(query, birth_date=mistyped), limit=20))

    def candidates_name_only(row: dict[str, str]) -> int:
        return len(candidates_find(Query(name=row["name"], name_kana=row["name_kana"]), limit=20))

    timed("candidates: name, kana, birth date, address", sample, candidates)
    timed("candidates: the same, birth day mistyped", sample, candidates_typo)
    timed("candidates: name and kana only", sample, candidates_name_only)
    print("targets: p95 <= 50 ms partial and candidates, <= 10 ms exact, <= 100 ms one day's list")

    if not options.keep:
        from django.db import connection

        connection.close()
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
