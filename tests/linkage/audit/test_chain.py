"""The access records form a hash chain nobody can edit unnoticed, and nobody can edit at
all through the application or (on PostgreSQL, and for updates on SQLite) the database."""

from __future__ import annotations

import threading
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from linkage.models import AccessAction, AccessOutcome, AccessRecord, AppendOnly
from linkage.services.audit import GENESIS, access_record, audit_chain_verify


def records(count: int) -> list[AccessRecord]:
    return [
        access_record(
            action=AccessAction.PERSON_VIEW,
            outcome=AccessOutcome.OK,
            username=f"clerk-{n}",
            integrated_numbers=[f"{n:015d}"],
        )
        for n in range(count)
    ]


def verify() -> str:
    out = StringIO()
    call_command("verify_audit_log", stdout=out)
    return out.getvalue()


def bypassing_the_guard(sql: str, params: list[Any]) -> None:
    """What someone with direct database access could do: lift the trigger, then write."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        else:
            cursor.execute("DROP TRIGGER access_record_append_only")
        cursor.execute(sql, params)


@pytest.mark.django_db
def test_each_record_carries_the_hash_of_the_one_before() -> None:
    first, second, third = records(3)
    assert first.previous_hash == GENESIS
    assert second.previous_hash == first.row_hash
    assert third.previous_hash == second.row_hash
    assert f"3 access records; the chain holds. Last hash: {third.row_hash}" in verify()


@pytest.mark.django_db
def test_an_edited_record_is_found(db: None) -> None:
    _, second, _ = records(3)
    bypassing_the_guard(
        "UPDATE linkage_accessrecord SET username = %s WHERE id = %s", ["someone-else", second.pk]
    )
    report = audit_chain_verify()
    assert report.broken is not None
    assert (report.broken.record_id, report.broken.reason) == (
        second.pk,
        "its content was changed",
    )
    with pytest.raises(CommandError, match=f"access record #{second.pk} breaks the chain"):
        verify()


@pytest.mark.django_db
def test_a_deleted_record_is_found_at_the_one_after_it() -> None:
    _, second, third = records(3)
    bypassing_the_guard("DELETE FROM linkage_accessrecord WHERE id = %s", [second.pk])
    report = audit_chain_verify()
    assert report.broken is not None
    assert report.broken.record_id == third.pk
    assert "missing or changed" in report.broken.reason


@pytest.mark.django_db
def test_the_application_cannot_change_or_delete_a_record() -> None:
    (record,) = records(1)
    record.username = "changed"
    with pytest.raises(AppendOnly):
        record.save()
    with pytest.raises(AppendOnly):
        record.delete()
    with pytest.raises(AppendOnly):
        AccessRecord.objects.filter(pk=record.pk).update(username="changed")
    with pytest.raises(AppendOnly):
        AccessRecord.objects.all().delete()
    assert "1 access records; the chain holds" in verify()


@pytest.mark.django_db
def test_the_database_refuses_an_update() -> None:
    (record,) = records(1)
    update = "UPDATE linkage_accessrecord SET username = 'x' WHERE id = %s"
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(update, [record.pk])
    if connection.vendor == "postgresql":
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute("DELETE FROM linkage_accessrecord WHERE id = %s", [record.pk])


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_one_unbroken_chain() -> None:
    """Writers racing for the chain's head: the unique previous_hash makes the loser retry."""
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            for n in range(10):
                access_record(
                    action=AccessAction.SEARCH,
                    outcome=AccessOutcome.OK,
                    username=f"w{worker}-{n}",
                )
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    report = audit_chain_verify()
    assert (report.records, report.broken) == (40, None)
