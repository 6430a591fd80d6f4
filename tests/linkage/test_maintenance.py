"""Statements large by nature run without the server's statement timeout (linkage.maintenance):
the reference deployment bounds every statement to 60 s (deploy/postgresql/linkage.conf),
and the initial load's finish and a migration take longer than that at a city's size."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from django.db import OperationalError, connection, transaction

from linkage.bulk import initial_load
from linkage.maintenance import statements_unbounded
from tests.conftest import held_open

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite has no statement timeout"
)

BOUND = "1min"  # the reference deployment's 60 s, as PostgreSQL shows it


def bound() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        return str(cursor.fetchone()[0])


def sleep(seconds: float) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(%s)", [seconds])


@pytest.fixture
def deployment_bound(django_db_blocker: Any) -> Iterator[None]:
    """The reference deployment's statement timeout, for every new connection to the test
    database and for this one."""
    name = connection.settings_dict["NAME"]
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            f"ALTER DATABASE {connection.ops.quote_name(name)} SET statement_timeout = '60s'"
        )
        cursor.execute("SET statement_timeout = '60s'")
    yield
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(f"ALTER DATABASE {connection.ops.quote_name(name)} RESET statement_timeout")
        cursor.execute("RESET statement_timeout")


@pytest.mark.django_db
def test_a_block_runs_unbounded_and_the_bound_comes_back() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = '100ms'")
    with pytest.raises(OperationalError, match="statement timeout"), transaction.atomic():
        sleep(0.3)

    with statements_unbounded():
        assert bound() == "0"
        sleep(0.3)

    assert bound() == "100ms"


@pytest.mark.django_db(transaction=True)
def test_the_initial_load_finishes_unbounded_on_every_connection(deployment_bound: None) -> None:
    assert bound() == BOUND
    load = initial_load.initial_load_begin("city.csv")
    initial_load.initial_load_loaded(load)
    seen: list[tuple[str, int, str]] = []

    def step(what: str) -> None:  # on the connection that runs the step's statements
        seen.append((what, threading.get_ident(), bound()))

    initial_load.initial_load_finish(load, step, workers=2)

    assert {what.split()[0] for what, _, _ in seen} == {"history", "index", "foreign", "statistics"}
    assert {timeout for _, _, timeout in seen} == {"0"}
    assert len({thread for _, thread, _ in seen}) >= 2  # the side-by-side connections too
    assert bound() == BOUND  # this connection has its bound again


@pytest.mark.django_db
def test_migrate_runs_unbounded(deployment_bound: None) -> None:
    assert bound() == BOUND
    call_command("migrate", verbosity=0)
    assert bound() == "0"


def index_valid(name: str) -> bool | None:
    """Whether the index is valid; None when there is none."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", [name])
        found = cursor.fetchone()
    return None if found is None else bool(found[0])


@pytest.mark.django_db(transaction=True)
def test_an_index_a_failed_concurrent_build_left_invalid_is_built_again() -> None:
    """The reference deployment's `lock_timeout` ends a concurrent build that waits for a
    long transaction (a nightly batch), and PostgreSQL keeps the index, invalid. The
    migration's next run, and migration 0029 on a database where that already happened,
    build it again."""
    built = importlib.import_module("linkage.migrations.0027_notices_delivered_index")
    repair = importlib.import_module("linkage.migrations.0029_concurrent_indexes_valid")
    with connection.schema_editor(atomic=False) as editor:
        built.index_drop(django_apps, editor)

    def writing() -> None:  # a writer of the table whose transaction does not end soon
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE linkage_notice IN ROW EXCLUSIVE MODE")

    try:
        with held_open(writing):
            with connection.cursor() as cursor:
                cursor.execute("SET lock_timeout = '300ms'")
            with (
                pytest.raises(OperationalError, match="lock timeout"),
                connection.schema_editor(atomic=False) as editor,
            ):
                built.index_create(django_apps, editor)
            assert index_valid(built.NAME) is False  # left behind by the failed build
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")

    with connection.schema_editor(atomic=False) as editor:
        repair.indexes_valid(django_apps, editor)
    assert index_valid(built.NAME) is True
    assert index_valid("access_numbers_gin") is True
