"""Numbering unit 37: integrated address numbers from a database sequence, never reused.

PostgreSQL: a real SEQUENCE; nextval() is outside transactions, so a rolled-back request
leaves a gap instead of handing its number to someone else. SQLite: an AUTOINCREMENT table,
whose high-water mark never goes down, so a number that was ever committed is never issued
again. Both are created by migration 0002.
"""

from __future__ import annotations

from django.db import connection

from ..numbers import integrated_number_from_serial

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


def integrated_numbers_issue(count: int) -> list[str]:
    """`count` new integrated numbers at once, in increasing order (bulk import)."""
    if count <= 0:
        return []
    if connection.vendor != "postgresql":
        return [integrated_number_issue() for _ in range(count)]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(%s) FROM generate_series(1, %s) ORDER BY 1", [SEQUENCE_NAME, count]
        )
        return [integrated_number_from_serial(int(serial)) for (serial,) in cursor.fetchall()]
