"""The initial load of a whole city into an empty database (`import_address_changes FILE
--initial-load`).

With every index and trigger live, most of a load's time goes to maintaining what nobody reads
during the load: the trigram search indexes, the foreign-key checks and the history triggers
(docs/operations.md has the figures). The initial load defers them: `begin` records and drops
the secondary indexes and foreign keys of the tables a load writes and disables their history
triggers; the chunks are then stored by the ordinary write path; `finish` writes the history
rows directly (one `insert` event per row, with its values as loaded), builds the indexes,
adds the foreign keys back and validates them, and enables the triggers. The unique
constraints stay live throughout: determination reads by them and races are settled by them.

Every step is recorded in an `InitialLoad` row, so an interrupted load is resumed by running
the same command again: a load not finished is continued (rows already stored are skipped),
and `finish` does only what is still to do. On SQLite (no trigram indexes, no history
triggers) nothing is deferred.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django.apps import apps
from django.db import connection, models, transaction
from django.utils import timezone

from ..maintenance import statement_timeout_lift, statements_unbounded
from ..models import (
    AddressChangeReceipt,
    AddressVersion,
    BusinessInformation,
    CodeRequest,
    CodeRequestTransition,
    CrossReference,
    InitialLoad,
    Notice,
    Person,
)

# The tables a load writes, and those whose history the triggers keep.
LOADED: tuple[type[models.Model], ...] = (
    Person,
    AddressVersion,
    CrossReference,
    AddressChangeReceipt,
    BusinessInformation,
    CodeRequest,
    CodeRequestTransition,
    Notice,
)
TRACKED: tuple[type[models.Model], ...] = (Person, AddressVersion, CrossReference, CodeRequest)
# Determination reads a person's links by person: that index stays.
KEPT_INDEX_TABLES = frozenset({CrossReference._meta.db_table})


class InitialLoadRefused(Exception):
    """The database is not empty (and no initial load is unfinished)."""


def _tables(models_: tuple[type[models.Model], ...]) -> list[str]:
    return [model._meta.db_table for model in models_]


def _event_model(model: type[models.Model]) -> type[models.Model]:
    return apps.get_model(model._meta.app_label, f"{model.__name__}Event")


def initial_load_unfinished() -> InitialLoad | None:
    return InitialLoad.objects.filter(finished_at__isnull=True).order_by("pk").first()


def initial_load_begin(file_name: str) -> InitialLoad:
    """The unfinished load to resume, or a new one on an empty database (its deferrals made)."""
    unfinished = initial_load_unfinished()
    if unfinished is not None:
        return unfinished
    holding = [model.__name__ for model in LOADED if model._default_manager.exists()]
    if holding:
        raise InitialLoadRefused(
            "--initial-load is for an empty database; these tables hold rows: "
            + ", ".join(holding)
            + " (import without --initial-load)"
        )
    with transaction.atomic():
        load = InitialLoad.objects.create(file_name=file_name[:300])
        if connection.vendor == "postgresql":
            load.deferred = _defer()
            load.save(update_fields=["deferred"])
    return load


def _defer() -> dict[str, list[list[str]]]:
    """Record, then drop or disable, what the load defers."""
    loaded = _tables(LOADED)
    events = _tables(tuple(_event_model(model) for model in TRACKED))
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT t.relname, i.relname, pg_get_indexdef(x.indexrelid)
            FROM pg_index x
            JOIN pg_class i ON i.oid = x.indexrelid
            JOIN pg_class t ON t.oid = x.indrelid
            WHERE t.relnamespace = current_schema()::regnamespace
              AND t.relname = ANY(%s) AND NOT x.indisprimary AND NOT x.indisunique
            ORDER BY 1, 2
            """,
            [loaded + events],
        )
        indexes = [
            [table, name, definition]
            for table, name, definition in cursor.fetchall()
            if table not in KEPT_INDEX_TABLES
        ]
        cursor.execute(
            """
            SELECT t.relname, c.conname, pg_get_constraintdef(c.oid)
            FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
            WHERE t.relnamespace = current_schema()::regnamespace
              AND c.contype = 'f' AND t.relname = ANY(%s)
            ORDER BY 1, 2
            """,
            [loaded + events],
        )
        constraints = [list(row) for row in cursor.fetchall()]
        cursor.execute(
            """
            SELECT t.relname, g.tgname
            FROM pg_trigger g JOIN pg_class t ON t.oid = g.tgrelid
            WHERE t.relnamespace = current_schema()::regnamespace
              AND NOT g.tgisinternal AND t.relname = ANY(%s)
            ORDER BY 1, 2
            """,
            [loaded],
        )
        triggers = [list(row) for row in cursor.fetchall()]
        quote = connection.ops.quote_name
        for table, name, _definition in constraints:
            cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
        for _table, name, _definition in indexes:
            cursor.execute(f"DROP INDEX {quote(name)}")
        for table, name in triggers:
            cursor.execute(f"ALTER TABLE {quote(table)} DISABLE TRIGGER {quote(name)}")
    return {
        "indexes": indexes,
        "constraints": constraints,
        "triggers": triggers,
        "history_written": [],
    }


def initial_load_loaded(load: InitialLoad) -> None:
    InitialLoad.objects.filter(pk=load.pk).update(loaded_at=timezone.now())
    load.loaded_at = timezone.now()


def initial_load_finish(
    load: InitialLoad, step: Callable[[str], None] = lambda _: None, *, workers: int = 1
) -> None:
    """Write the history rows, build the indexes, add and validate the foreign keys, enable the
    triggers: each step once, recorded, so an interrupted finish is resumed. The index builds
    and the statistics run on `workers` connections side by side (outside a transaction).
    Every step runs without the server's statement timeout (linkage.maintenance)."""
    if connection.vendor == "postgresql" and load.deferred:
        with statements_unbounded():
            _deferred_restore(load, step, workers)
    InitialLoad.objects.filter(pk=load.pk).update(finished_at=timezone.now())


def _deferred_restore(load: InitialLoad, step: Callable[[str], None], workers: int) -> None:
    """The finish's steps, each skipped when done already."""
    deferred = load.deferred
    _history_write(load, step)
    quote = connection.ops.quote_name
    _side_by_side(
        [
            (f"index {name}", definition)
            for _table, name, definition in deferred["indexes"]
            if not _exists("SELECT 1 FROM pg_class WHERE relname = %s", name)
        ],
        step,
        workers,
    )
    with connection.cursor() as cursor:
        for table, name, definition in deferred["constraints"]:
            if not _exists("SELECT 1 FROM pg_constraint WHERE conname = %s", name):
                step(f"foreign key {name}")
                cursor.execute(
                    f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} "
                    f"{definition} NOT VALID"
                )
                cursor.execute(f"ALTER TABLE {quote(table)} VALIDATE CONSTRAINT {quote(name)}")
        for table, name in deferred["triggers"]:
            cursor.execute(f"ALTER TABLE {quote(table)} ENABLE TRIGGER {quote(name)}")
    _side_by_side(
        [(f"statistics of {table}", f"ANALYZE {quote(table)}") for table in _tables(LOADED)],
        step,
        workers,
    )


def _side_by_side(
    statements: list[tuple[str, str]], step: Callable[[str], None], workers: int
) -> None:
    """Run independent statements (what, SQL), the largest first, on `workers` connections of
    their own, each taking the next as it is free. Inside a caller's transaction, which other
    connections could not see, they run one after another on its connection."""
    if workers < 2 or len(statements) < 2 or connection.in_atomic_block:
        with connection.cursor() as cursor:
            for what, sql in statements:
                step(what)
                cursor.execute(sql)
        return
    waiting: queue.SimpleQueue[tuple[str, str]] = queue.SimpleQueue()
    for statement in sorted(statements, key=lambda statement: " gin " not in statement[1]):
        waiting.put(statement)

    def work() -> None:
        try:
            statement_timeout_lift()  # this thread's own connection
            with connection.cursor() as cursor:
                while True:
                    try:
                        what, sql = waiting.get_nowait()
                    except queue.Empty:
                        return
                    step(what)
                    cursor.execute(sql)
        finally:
            connection.close()  # this thread's own connection

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for done in [pool.submit(work) for _ in range(workers)]:
            done.result()  # a failure stops the finish; running it again resumes


def _exists(sql: str, name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(sql, [name])
        return cursor.fetchone() is not None


def _history_write(load: InitialLoad, step: Callable[[str], None]) -> None:
    """One `insert` event per loaded row of each tracked table, as its trigger would have
    written it; each table in its own transaction, recorded with it."""
    quote = connection.ops.quote_name
    for model in TRACKED:
        table = model._meta.db_table
        if table in load.deferred["history_written"]:
            continue
        step(f"history of {table}")
        event = _event_model(model)
        columns = [
            str(field.column)
            for field in event._meta.concrete_fields
            if not field.name.startswith("pgh_")
        ]
        listed = ", ".join(quote(column) for column in columns)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {quote(event._meta.db_table)} "  # noqa: S608 (our own names)
                f"({listed}, pgh_created_at, pgh_label, pgh_obj_id, pgh_context_id) "
                f"SELECT {listed}, NOW(), 'insert', id, NULL FROM {quote(table)}"
            )
            load.deferred["history_written"].append(table)
            InitialLoad.objects.filter(pk=load.pk).update(deferred=load.deferred)
