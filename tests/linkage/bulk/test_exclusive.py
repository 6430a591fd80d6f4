"""One import at a time (linkage.bulk.exclusive): two side by side meet on the same persons,
so the second waits for the first, and an initial load is refused while another runs."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections

from linkage.bulk.exclusive import IMPORT_LOCK
from linkage.models import CrossReference, InitialLoad, Person

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has one writer"),
    pytest.mark.django_db(transaction=True),  # the imports run on connections of their own
]


@contextmanager
def another_import() -> Iterator[None]:
    """The lock held as a running import holds it, on a connection of its own."""
    running = connection.get_new_connection(connection.get_connection_params())
    try:
        with running.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [IMPORT_LOCK])
        yield
    finally:
        running.close()


def imported_in_a_thread(path: Path, *args: str) -> tuple[threading.Thread, dict[str, str]]:
    """An import run on a thread (one stream: nothing forked from a threaded process)."""
    result: dict[str, str] = {}

    def run() -> None:
        out, err = StringIO(), StringIO()
        try:
            call_command(
                "import_address_changes", str(path), "--no-progress", "--streams", "1", *args,
                stdout=out, stderr=err,
            )  # fmt: skip
        except Exception as error:  # reported by the test, whatever it is
            result["error"] = f"{type(error).__name__}: {error}"
        finally:
            connections.close_all()
        result["out"], result["err"] = out.getvalue(), err.getvalue()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def split_by_system(path: Path) -> tuple[Path, Path]:
    """The generated file's 住基 rows and its 税 rows, as two systems' files."""
    header, *rows = path.read_text(encoding="utf-8").splitlines()
    files = []
    for system in ("01", "02"):
        part = path.with_name(f"{system}.csv")
        part.write_text(
            "\n".join([header, *(r for r in rows if r.split(",")[1] == system)]) + "\n",
            encoding="utf-8",
        )
        files.append(part)
    return files[0], files[1]


@contextmanager
def timeouts_of_the_reference_deployment() -> Iterator[None]:
    """deploy/postgresql/linkage.conf's lock_timeout and statement_timeout, shortened, on every
    new connection to the test database."""
    name = connection.ops.quote_name(connection.settings_dict["NAME"])
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER DATABASE {name} SET lock_timeout = '1s'")
        cursor.execute(f"ALTER DATABASE {name} SET statement_timeout = '1s'")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER DATABASE {name} RESET lock_timeout")
            cursor.execute(f"ALTER DATABASE {name} RESET statement_timeout")


def test_an_import_waits_while_another_runs_then_stores_everything(
    generated: Callable[..., Path],
) -> None:
    """However long the other takes: the deployment's timeouts do not cut the wait short."""
    path = generated(persons=5)
    with timeouts_of_the_reference_deployment(), another_import():
        thread, result = imported_in_a_thread(path)
        time.sleep(2.5)
        assert thread.is_alive() and not Person.objects.exists()
    thread.join(timeout=60)
    assert not thread.is_alive() and "error" not in result
    assert "another import is running: waiting for it to end" in result["err"]
    assert "registered 5," in result["out"]


def test_an_initial_load_while_another_import_runs_is_refused_before_it_begins(
    generated: Callable[..., Path],
) -> None:
    path = generated(persons=5)
    with another_import(), pytest.raises(CommandError, match="an initial load runs alone"):
        call_command("import_address_changes", str(path), "--no-progress", "--initial-load")
    assert not InitialLoad.objects.exists() and not Person.objects.exists()


def test_two_systems_files_imported_at_once_both_store_everything(
    generated: Callable[..., Path],
) -> None:
    """Before the lock, one of the two failed on the unique constraints (its chunk lost the
    race to the other import three times over)."""
    residents, tax = split_by_system(generated(persons=4000, systems=2, overlap=1.0))
    threads = [imported_in_a_thread(part, "--chunk-size", "500") for part in (residents, tax)]
    for thread, _ in threads:
        thread.join(timeout=120)
    assert [result.get("error") for _, result in threads] == [None, None]
    assert Person.objects.count() == 4000
    assert CrossReference.objects.count() == 8000
