"""One import at a time per database (PostgreSQL).

Two imports side by side (each business system's nightly file started by its own job, or an
initial load per file in its own terminal) meet on the same persons: a chunk decided before
the other import stored one of its persons loses the race on the unique constraints, and
while both keep writing its retries lose again (measured: two imports of 30,000 changes over
the same persons, one failed in both its streams). An initial load started beside another
would take the other's unfinished load for its own: one may finish (write the history rows,
enable the triggers) while the other still loads. So each import holds a session advisory
lock from before it reads anything to after it ends: a second ordinary import waits for it,
and an initial load that finds it held is refused. The streams of one import are split by
person and never meet. On a machine whose cores one import's streams already fill, nothing
is lost by waiting.

The lock is held on a connection of its own, which the streams' processes (forked) leave
alone: they end without closing what they inherited. SQLite has one writer anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import connection

IMPORT_LOCK = 0x4C4B494D  # "LKIM"


class ImportRunning(Exception):
    """Another import holds the lock, and this one may not wait."""


@contextmanager
def import_held(*, waiting: Callable[[], None] | None) -> Iterator[None]:
    """The lock for the duration of the block. Held by another import: ImportRunning when
    `waiting` is None, else `waiting()` is called once and the lock waited for."""
    if connection.vendor != "postgresql":
        yield
        return
    held = connection.get_new_connection(connection.get_connection_params())
    try:
        with held.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [IMPORT_LOCK])
            row = cursor.fetchone()
            if not (row and row[0]):
                if waiting is None:
                    raise ImportRunning("another import is running now")
                waiting()
                # As long as the other import takes: the reference deployment's lock_timeout
                # (30 s) and statement_timeout (60 s) would cancel the wait.
                cursor.execute("SET lock_timeout = 0")
                cursor.execute("SET statement_timeout = 0")
                cursor.execute("SELECT pg_advisory_lock(%s)", [IMPORT_LOCK])
        yield
    finally:
        held.close()
