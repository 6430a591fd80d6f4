"""Statements that are large by nature, run without the server's statement timeout.

The reference deployment bounds every statement (deploy/postgresql/linkage.conf:
`statement_timeout = 60s`), so a runaway query cannot hold a connection and the gunicorn
thread behind it for good. A few statements are large by nature and take minutes at a city's
size: the initial load's finish (the history rows, index builds, foreign keys validated,
statistics over millions of rows) and a migration's table rewrite or index build. Measured
on this project's 2-core machine, one trigram index of the initial load took 5.9 s for
300,000 persons, so over a minute for a city of three million. They run with the bound
lifted for their own connection; `lock_timeout` still holds, so none of them waits long
behind another's lock.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from django.db import DatabaseError, connection


def statement_timeout_lift() -> str:
    """No statement timeout on this thread's connection from now on (PostgreSQL); the one it
    had."""
    if connection.vendor != "postgresql":
        return ""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('statement_timeout'), "
            "set_config('statement_timeout', '0', false)"
        )
        return str(cursor.fetchone()[0])


@contextlib.contextmanager
def statements_unbounded() -> Iterator[None]:
    """No statement timeout on this thread's connection inside the block; the one it had
    again after it (unless the connection or its transaction failed: its rollback or its
    closing undoes the setting anyway)."""
    previous = statement_timeout_lift()
    try:
        yield
    finally:
        if connection.vendor == "postgresql":
            with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
                cursor.execute("SELECT set_config('statement_timeout', %s, false)", [previous])


def migrations_unbounded(**kwargs: Any) -> None:
    """pre_migrate: the schema's changes are maintenance, run by an operator; a table's
    rewrite or an index build at a city's size takes minutes."""
    statement_timeout_lift()


def index_build_concurrently(schema_editor: Any, name: str, definition: str) -> None:
    """`CREATE INDEX name definition`, CONCURRENTLY on PostgreSQL so that writes go on while
    it reads the table. A concurrent build that fails (a lock timeout, a cancel, a restart)
    leaves its index behind marked invalid: never used by a query, yet kept up on every write,
    and `IF NOT EXISTS` would keep it so on the next try. An invalid index of that name is
    therefore dropped first, as PostgreSQL's documentation advises, and built again."""
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} {definition}")
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT NOT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", [name]
        )
        found = cursor.fetchone()
    if found and found[0]:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
    schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} {definition}")
