"""Writing model instances set-wise, faster than `bulk_create` for many.

PostgreSQL: COPY, with primary keys taken from each table's identity sequence beforehand, so
the rows referring to them can be built before anything is written. SQLite: one prepared
INSERT run for every row, with keys above the table's high-water mark (the bulk import's
transaction holds SQLite's write lock from its start, so nobody else takes them meanwhile).
Values are prepared by the models' own fields (defaults, auto_now_add, JSON, time zones),
as `save()` would prepare them.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Field, JSONField, Model
from django.db.models.base import ModelState
from django.utils import timezone
from psycopg.types.json import Jsonb


def ids_allocate(model: type[Model], count: int) -> list[int]:
    """`count` primary keys for new rows of `model`, never handed out twice."""
    if count <= 0:
        return []
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
def _defaults(model: type[Model]) -> tuple[tuple[str, Field[Any, Any]], ...]:
    return tuple((field.attname, field) for field in model._meta.concrete_fields)


def build(model: type[M], **values: Any) -> M:
    """An unsaved instance as `model(**values)` makes it (defaults for the rest), without the
    per-field descriptor work of Model.__init__, which costs more than the insert. Related
    objects are given by their ids (`person_id=...`)."""
    if "pk" in values:
        values[model._meta.pk.attname] = values.pop("pk")
    obj = model.__new__(model)
    obj._state = ModelState()
    for attname, field in _defaults(model):
        if attname not in values:
            values[attname] = field.get_default()
    obj.__dict__.update(values)
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
def _insert_returning_sql(model: type[Model], count: int) -> str:
    """`INSERT INTO table (every column but the key) VALUES (...) x count RETURNING key`,
    composed once per model and row count."""
    meta = model._meta
    quote = connection.ops.quote_name
    fields = [field for field in meta.concrete_fields if field is not meta.pk]
    columns = ", ".join(quote(str(field.column)) for field in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    values = ", ".join([row] * count)
    return (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES {values} "  # noqa: S608
        f"RETURNING {quote(str(meta.pk.column))}"
    )


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
    pk = model._meta.pk
    if len(objects) < FEW and all(obj.pk is None for obj in objects):
        # One statement, the keys from the identity column (PostgreSQL, SQLite 3.35+).
        values = [
            value
            for row in _rows(objects, [field for field in fields if field is not pk])
            for value in row
        ]
        with connection.cursor() as cursor:
            cursor.execute(_insert_returning_sql(model, len(objects)), values)
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
