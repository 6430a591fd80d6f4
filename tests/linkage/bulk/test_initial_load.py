"""`import_address_changes --initial-load`: the first load of a city into an empty database,
with the search indexes, foreign keys and history triggers deferred to the end; the same rows
as an ordinary import, everything restored afterwards, resumable at every step."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management.base import CommandError
from django.db import connection

from linkage.bulk import initial_load
from linkage.models import InitialLoad, Person
from tests.conftest import post_change
from tests.factories import address_change_body, backbone_client

from .conftest import linkage_clear, linkage_snapshot, run_import

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="only PostgreSQL has indexes and triggers to defer"
)


def schema() -> dict[str, list[tuple[Any, ...]]]:
    """The loaded tables' indexes, foreign keys and enabled triggers, as PostgreSQL has them."""
    tables = initial_load._tables(initial_load.LOADED) + initial_load._tables(
        tuple(initial_load._event_model(model) for model in initial_load.TRACKED)
    )
    queries = {
        "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes "
        "WHERE tablename = ANY(%s)",
        "constraints": "SELECT t.relname, c.conname, pg_get_constraintdef(c.oid), c.convalidated "
        "FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid WHERE t.relname = ANY(%s)",
        "triggers": "SELECT t.relname, g.tgname, g.tgenabled FROM pg_trigger g "
        "JOIN pg_class t ON t.oid = g.tgrelid WHERE NOT g.tgisinternal AND t.relname = ANY(%s)",
    }
    found = {}
    with connection.cursor() as cursor:
        for name, sql in queries.items():
            cursor.execute(sql, [tables])
            found[name] = sorted(cursor.fetchall())
    return found


def history_counts() -> dict[str, int]:
    return {
        model.__name__: initial_load._event_model(model)._default_manager.count()
        for model in initial_load.TRACKED
    }


def test_an_initial_load_stores_what_an_ordinary_import_stores(
    generated: Callable[..., Path],
) -> None:
    path = generated(persons=40, overlap=0.6, updates=15, bad_share=0.1)
    run_import(path, "--chunk-size", "9")
    ordinary = linkage_snapshot()
    linkage_clear()
    before = schema() if connection.vendor == "postgresql" else {}

    summary = run_import(path, "--chunk-size", "9", "--initial-load")

    assert "initial load finished" in summary
    assert linkage_snapshot() == ordinary
    load = InitialLoad.objects.get()
    assert load.loaded_at is not None and load.finished_at is not None
    if connection.vendor == "postgresql":
        assert schema() == before  # every index, foreign key and trigger back, validated


def test_an_initial_load_is_refused_unless_the_database_is_empty(tmp_path: Path) -> None:
    jyuki = backbone_client(number_system="01", name="住基")
    assert post_change(jyuki, address_change_body()).status_code == 201
    path = tmp_path / "more.jsonl"
    path.write_text("", encoding="utf-8")
    with pytest.raises(CommandError, match="empty database; these tables hold rows: Person"):
        run_import(path, "--initial-load")
    assert not InitialLoad.objects.exists()


@postgresql_only
def test_the_history_is_written_directly_and_the_triggers_work_again(
    generated: Callable[..., Path],
) -> None:
    path = generated(persons=25, updates=5)
    run_import(path, "--initial-load")
    counts = history_counts()
    assert counts == {
        "Person": Person.objects.count(),
        "AddressVersion": initial_load.AddressVersion.objects.count(),
        "CrossReference": initial_load.CrossReference.objects.count(),
        "CodeRequest": initial_load.CodeRequest.objects.count(),
    }
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT pgh_label FROM linkage_addressversionevent")
        assert cursor.fetchall() == [("insert",)]

    # After the load the triggers record again: a new person through the API.
    jyuki = backbone_client(number_system="01", name="住基 API")
    assert post_change(jyuki, address_change_body()).status_code == 201
    assert history_counts()["Person"] == counts["Person"] + 1


def test_an_interrupted_load_is_resumed_and_an_ordinary_import_waits_for_it(
    generated: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = generated(persons=30, updates=10)
    run_import(path, "--chunk-size", "10")
    complete = linkage_snapshot()
    linkage_clear()
    before = schema() if connection.vendor == "postgresql" else {}

    from linkage.bulk.ingest import Importer

    original = Importer.import_chunk
    calls = {"n": 0}

    def crash_on_the_third_chunk(self: Importer, rows: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(self, rows)

    monkeypatch.setattr(Importer, "import_chunk", crash_on_the_third_chunk)
    with pytest.raises(KeyboardInterrupt):
        run_import(path, "--chunk-size", "10", "--initial-load")
    monkeypatch.setattr(Importer, "import_chunk", original)
    assert 0 < Person.objects.count() < 30

    with pytest.raises(CommandError, match="not finished; run it again with --initial-load"):
        run_import(path)

    summary = run_import(path, "--chunk-size", "10", "--initial-load")
    assert "duplicates 20," in summary and "initial load finished" in summary
    assert linkage_snapshot() == complete
    assert InitialLoad.objects.get().finished_at is not None
    if connection.vendor == "postgresql":
        assert schema() == before


@postgresql_only
def test_an_interrupted_finish_is_resumed_without_writing_history_twice(
    generated: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = generated(persons=20, updates=5)
    before = schema()
    real_exists = initial_load._exists
    calls = {"n": 0}

    def crash_before_the_second_index(sql: str, name: str) -> bool:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real_exists(sql, name)

    monkeypatch.setattr(initial_load, "_exists", crash_before_the_second_index)
    with pytest.raises(KeyboardInterrupt):
        run_import(path, "--initial-load")
    monkeypatch.setattr(initial_load, "_exists", real_exists)
    load = InitialLoad.objects.get()
    assert load.loaded_at is not None and load.finished_at is None
    written = history_counts()

    summary = run_import(path, "--initial-load")  # the rows are in: only the finish runs

    assert "initial load finished" in summary
    assert history_counts() == written  # each table's history written once
    assert schema() == before


def test_streams_must_be_at_least_one(generated: Callable[..., Path]) -> None:
    path = generated(persons=2)
    with pytest.raises(CommandError, match="--streams must be at least 1"):
        run_import(path, "--initial-load", "--streams", "0")
    assert not Person.objects.exists()
    assert not InitialLoad.objects.exists()  # nothing begun: an ordinary import still runs
