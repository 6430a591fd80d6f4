"""Numbering unit 37: integrated address numbers from a database sequence, never reused.

PostgreSQL: a real SEQUENCE; nextval() is outside transactions, so a rolled-back request
leaves a gap instead of handing its number to someone else. SQLite: an AUTOINCREMENT table,
whose high-water mark never goes down, so a number that was ever committed is never issued
again. Both are created by migration 0002.
"""

from __future__ import annotations

from django.db import connection

from primitives.numbers import integrated_number_from_serial

from ..tables import reserved_take

SEQUENCE_NAME = "linkage_integrated_number_seq"


def integrated_number_issue() -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT nextval(%s)", [SEQUENCE_NAME])
            (serial,) = cursor.fetchone()
        else:
            cursor.execute(f"INSERT INTO {SEQUENCE_NAME} DEFAULT VALUES")
            serial = cursor.lastrowid
            cursor.execute(f"DELETE FROM {SEQUENCE_NAME} WHERE value < %s", [serial])  # noqa: S608
    return integrated_number_from_serial(int(serial))


def integrated_number_serial(integrated_number: str) -> int:
    """The sequence value of an integrated number (its 14 leading digits)."""
    return int(integrated_number[:-1])


def integrated_number_sequence_raise(serial: int) -> None:
    """Make the sequence continue above `serial` (a migration kept numbers up to it); never
    lowers it."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The sequence's next value stays above both what it handed out and `serial`.
            cursor.execute(
                f"SELECT setval(%s, GREATEST(%s, (SELECT last_value FROM {SEQUENCE_NAME})))",  # noqa: S608
                [SEQUENCE_NAME, serial],
            )
        else:
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [SEQUENCE_NAME])
            stored = cursor.fetchone()
            if stored is None or int(stored[0]) < serial:
                cursor.execute(f"INSERT INTO {SEQUENCE_NAME} (value) VALUES (%s)", [serial])  # noqa: S608
                cursor.execute(f"DELETE FROM {SEQUENCE_NAME} WHERE value < %s", [serial])  # noqa: S608


def integrated_numbers_issue(count: int) -> list[str]:
    """`count` new integrated numbers at once, in increasing order: first those a gathered
    batch reserved with its keys (linkage.tables.reserve), then drawn."""
    if count <= 0:
        return []
    if connection.vendor != "postgresql":  # nothing is reserved there (linkage.tables)
        return [integrated_number_issue() for _ in range(count)]
    serials = reserved_take(SEQUENCE_NAME, count)
    if len(serials) < count:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(%s) FROM generate_series(1, %s) ORDER BY 1",
                [SEQUENCE_NAME, count - len(serials)],
            )
            serials += [int(serial) for (serial,) in cursor.fetchall()]
    return [integrated_number_from_serial(serial) for serial in serials]
