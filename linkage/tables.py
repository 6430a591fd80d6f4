"""Writing model instances set-wise, faster than `bulk_create` for many.

PostgreSQL: COPY, with primary keys taken from each table's identity sequence beforehand, so
the rows referring to them can be built before anything is written. SQLite: one prepared
INSERT run for every row, with keys above the table's high-water mark (the bulk import's
transaction holds SQLite's write lock from its start, so nobody else takes them meanwhile).
Values are prepared by the models' own fields (defaults, auto_now_add, JSON, time zones),
as `save()` would prepare them.

A few rows of several tables (the API's batch of one) are written in one statement instead
of one per table: inside `gathered()`, the keys come from one `reserve()` of every sequence
the batch will draw from, and `insert` holds the rows until the block ends (PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from functools import cache
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Field, JSONField, Model
from django.db.models.base import ModelState
from django.utils import timezone
from psycopg.types.json import Jsonb

# --- one statement for a few rows of several tables (PostgreSQL) -----------------------------

# A sequence to draw from: a model's key, or a sequence by its name.
Drawn = type[Model] | str


@dataclass
class _Gathering:
    """What a `gathered()` block has reserved and what it will write."""

    reserved: dict[Drawn, list[int]] = dataclass_field(default_factory=dict)
    pending: list[Sequence[Model]] = dataclass_field(default_factory=list)


_gathering: ContextVar[_Gathering | None] = ContextVar("linkage_tables_gathering", default=None)


@contextmanager
def gathered() -> Iterator[None]:
    """Inside the block, `insert` takes keys from what `reserve` drew and holds the rows; they
    are written when the block ends, all of them in one statement (PostgreSQL; elsewhere
    nothing changes). Code inside that reads a table it wrote calls `flush()` first."""
    if connection.vendor != "postgresql" or _gathering.get() is not None:
        yield
        return
    token = _gathering.set(_Gathering())
    try:
        yield
        flush()
    finally:
        _gathering.reset(token)


def reserve(wanted: Mapping[Drawn, int]) -> None:
    """Draw, in one statement, the values a `gathered()` block will take from several
    sequences: `wanted` maps a model (its key) or a sequence's name to how many. A block that
    needs more than it reserved draws the rest as it goes (a statement more), one that needs
    fewer leaves a gap, as a rolled-back insert does. Rows of one table alone refer to no other
    new row: they take their keys as they are inserted, and nothing is reserved."""
    gathering = _gathering.get()
    wanted = {drawn: count for drawn, count in wanted.items() if count > 0}
    if gathering is None or len(wanted) < 2:
        return
    parts: list[str] = []
    params: list[Any] = []
    for position, (drawn, count) in enumerate(wanted.items()):
        if isinstance(drawn, str):
            parts.append("SELECT %s, nextval(%s) FROM generate_series(1, %s)")
            params += [position, drawn, count]
        else:
            parts.append(
                "SELECT %s, nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)"
            )
            params += [position, drawn._meta.db_table, drawn._meta.pk.column, count]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        rows = cursor.fetchall()
    drawn_list = list(wanted)
    for position, value in sorted(rows):
        gathering.reserved.setdefault(drawn_list[position], []).append(int(value))


def reserved_take(drawn: Drawn, count: int) -> list[int]:
    """Up to `count` values `reserve` drew from `drawn`, in increasing order."""
    gathering = _gathering.get()
    if gathering is None or count <= 0:
        return []
    values = gathering.reserved.get(drawn, [])
    taken, gathering.reserved[drawn] = values[:count], values[count:]
    return taken


def flush() -> None:
    """Write the rows a `gathered()` block holds: one INSERT, with one data-modifying WITH
    clause per further table. The foreign keys are checked at the statement's end (or
    commit), so the order of the clauses does not matter."""
    gathering = _gathering.get()
    if gathering is None or not gathering.pending:
        return
    pending, gathering.pending = gathering.pending, []
    statements, params = [], []
    for objects in pending:
        fields, _stamped = _columns(type(objects[0]))
        statements.append(_insert_sql(type(objects[0]), len(objects), keys_given=True))
        params += [value for record in _rows(objects, fields) for value in record]
    *clauses, last = statements
    with_clause = (
        "WITH " + ", ".join(f"w{n} AS ({clause})" for n, clause in enumerate(clauses)) + " "
        if clauses
        else ""
    )
    with connection.cursor() as cursor:
        cursor.execute(with_clause + last, params)


def ids_allocate(model: type[Model], count: int) -> list[int]:
    """`count` primary keys for new rows of `model`, never handed out twice (first those a
    `gathered()` block reserved)."""
    if count <= 0:
        return []
    reserved = reserved_take(model, count)
    if len(reserved) == count:
        return reserved
    return reserved + _ids_draw(model, count - len(reserved))


def _ids_draw(model: type[Model], count: int) -> list[int]:
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [table, model._meta.pk.column, count],
            )
            return sorted(int(value) for (value,) in cursor.fetchall())
        cursor.execute(f'SELECT COALESCE(MAX("{model._meta.pk.column}"), 0) FROM "{table}"')  # noqa: S608
        (highest,) = cursor.fetchone()
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        stored = cursor.fetchone()
        start = max(int(highest), int(stored[0]) if stored else 0) + 1
        return list(range(start, start + count))


def _with_ids(objects: Sequence[Model]) -> Sequence[Model]:
    """Give each object without a primary key a newly allocated one."""
    missing = [obj for obj in objects if obj.pk is None]
    if missing:
        for obj, pk in zip(missing, ids_allocate(type(missing[0]), len(missing)), strict=True):
            obj.pk = pk
    return objects


M = TypeVar("M", bound=Model)


@cache
def _defaults(model: type[Model]) -> tuple[dict[str, Any], tuple[tuple[str, Field[Any, Any]], ...]]:
    """The model's defaults: the fixed ones as values, once (None, "", a constant), and the
    fields whose default is made anew for each instance (a callable: dict, now, uuid4)."""
    fixed: dict[str, Any] = {}
    made: list[tuple[str, Field[Any, Any]]] = []
    for field in model._meta.concrete_fields:
        if field.has_default() and callable(field.default):
            made.append((field.attname, field))
        else:
            fixed[field.attname] = field.get_default()
    return fixed, tuple(made)


def build(model: type[M], **values: Any) -> M:
    """An unsaved instance as `model(**values)` makes it (defaults for the rest), without the
    per-field descriptor work of Model.__init__, which costs more than the insert. Related
    objects are given by their ids (`person_id=...`)."""
    if "pk" in values:
        values[model._meta.pk.attname] = values.pop("pk")
    obj = model.__new__(model)
    obj._state = ModelState()
    fixed, made = _defaults(model)
    state = obj.__dict__
    state.update(fixed)
    for attname, field in made:
        if attname not in values:
            state[attname] = field.get_default()
    state.update(values)
    return obj


# Below this many rows one INSERT ... RETURNING is fewer statements than allocating keys and
# a COPY: the API's batch of one takes this way.
FEW = 32


@cache
def _columns(model: type[Model]) -> tuple[tuple[Field[Any, Any], ...], frozenset[str]]:
    """The model's concrete fields, and the attnames of those stamped on insert (auto_now,
    auto_now_add)."""
    fields = tuple(model._meta.concrete_fields)
    stamped = frozenset(
        field.attname
        for field in fields
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
    )
    return fields, stamped


def _rows(objects: Sequence[Model], fields: Sequence[Field[Any, Any]]) -> list[tuple[Any, ...]]:
    """The objects' values for `fields`, ready for the driver. PostgreSQL: psycopg adapts
    dates, times, numbers and text itself, only JSON needs wrapping (Django's per-value
    preparation costs more than the insert). SQLite: each field prepares its value."""
    attnames = [field.attname for field in fields]
    raw_rows = [tuple(obj.__dict__[name] for name in attnames) for obj in objects]
    if connection.vendor != "postgresql":
        return [
            tuple(
                field.get_db_prep_save(value, connection)
                for field, value in zip(fields, raw, strict=True)
            )
            for raw in raw_rows
        ]
    json_columns = [i for i, field in enumerate(fields) if isinstance(field, JSONField)]
    if not json_columns:
        return raw_rows
    rows = []
    for raw in raw_rows:
        row = list(raw)
        for i in json_columns:
            if row[i] is not None:
                row[i] = Jsonb(row[i])
        rows.append(tuple(row))
    return rows


@cache
def _insert_sql(model: type[Model], count: int, *, keys_given: bool) -> str:
    """`INSERT INTO table (columns) VALUES (...) x count`, composed once per model, row count
    and kind: with every column when the keys are given (a gathered block's rows), else every
    column but the key, which the identity column gives and `RETURNING` reports."""
    meta = model._meta
    quote = connection.ops.quote_name
    fields = [field for field in meta.concrete_fields if keys_given or field is not meta.pk]
    columns = ", ".join(quote(str(field.column)) for field in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    values = ", ".join([row] * count)
    returning = "" if keys_given else f" RETURNING {quote(str(meta.pk.column))}"
    return f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES {values}{returning}"  # noqa: S608


def _stored(objects: Sequence[Model]) -> None:
    """The objects are rows now, as after save()."""
    for obj in objects:
        obj._state.adding = False
        obj._state.db = connection.alias


def insert(objects: Sequence[Model]) -> None:
    """Insert the objects (all of one model) as they are, primary keys included (or given,
    when missing); every auto_now/auto_now_add field gets one common time, as one save() would
    give it, on the object too."""
    if not objects:
        return
    model = type(objects[0])
    fields, stamped = _columns(model)
    now = timezone.now()
    for obj in objects:
        for name in stamped:
            obj.__dict__[name] = now
    gathering = _gathering.get()
    if gathering is not None and (
        gathering.reserved.get(model) or all(obj.pk is not None for obj in objects)
    ):
        _with_ids(objects)
        gathering.pending.append(list(objects))
        _stored(objects)
        return
    pk = model._meta.pk
    if len(objects) < FEW and all(obj.pk is None for obj in objects):
        # One statement, the keys from the identity column (PostgreSQL, SQLite 3.35+).
        values = [
            value
            for row in _rows(objects, [field for field in fields if field is not pk])
            for value in row
        ]
        with connection.cursor() as cursor:
            cursor.execute(_insert_sql(model, len(objects), keys_given=False), values)
            keys = [key for (key,) in cursor.fetchall()]
        # Both databases return the keys of a multi-row VALUES in the order given for a
        # table without triggers reordering them; sorted, since identities ascend in order.
        for obj, key in zip(objects, sorted(keys), strict=True):
            obj.pk = key
        _stored(objects)
        return
    _with_ids(objects)
    rows = _rows(objects, fields)
    columns = ", ".join(connection.ops.quote_name(str(field.column)) for field in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            raw_cursor: Any = cursor.cursor  # psycopg's own cursor, for COPY
            with raw_cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for record in rows:
                    copy.write_row(record)
        else:
            placeholders = ", ".join(["%s"] * len(fields))
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES ({placeholders})",  # noqa: S608
                rows,
            )
    _stored(objects)
