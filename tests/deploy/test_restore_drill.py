"""The restore drill (deploy/backup): a person registered through the API, the database
dumped by linkage-backup, the dump restored by linkage-restore into a new database, and the
person read back there, by the individual number, with the keys kept apart from the dump."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from linkage.models import AccessRecord, Person
from tests.chain.conftest import database_url
from tests.conftest import api_for, post_change
from tests.factories import KeyedClient, address_change_body, resident

BACKUP = Path(settings.BASE_DIR) / "deploy" / "backup"

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the deployment's database is PostgreSQL"
    ),
]

READ_BACK = """
import sys
from linkage.selectors import person_by_individual_number
from django.core.management import call_command
person = person_by_individual_number(sys.stdin.read().strip())
print("found", person.integrated_number if person else None)
print("address", person.versions.order_by("-history_seq").first().address if person else None)
call_command("verify_audit_log")
"""


def run(command: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.endswith("_KEY") and "KEYS" not in k}
    return subprocess.run(  # noqa: S603 (the project's own scripts)
        command, env={**clean, **env}, capture_output=True, text=True, timeout=120, check=False
    )


def manage(database: str, script: str, stdin: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=settings.BASE_DIR,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": database,
            **env,
        },
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def admin_url() -> str:
    """The test database's server, its maintenance database."""
    return database_url().rsplit("/", 1)[0] + "/postgres"


@pytest.fixture
def restored_name() -> Any:
    name = f"linkage_restore_drill_{secrets.token_hex(4)}"
    yield name
    subprocess.run(  # noqa: S603
        ["psql", admin_url(), "-Xqc", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'],  # noqa: S607
        check=False,
        capture_output=True,
    )


def test_a_dump_restores_into_a_new_database_and_the_person_reads_back(
    jyuki: KeyedClient, tmp_path: Path, restored_name: str
) -> None:
    someone = resident()
    answer = post_change(jyuki, address_change_body(resident=someone))
    assert answer.status_code == 201
    integrated_number = answer.json()["integrated_number"]
    assert api_for(jyuki).get(f"/api/v1/persons/{integrated_number}").status_code == 200
    records = AccessRecord.objects.count()
    assert records >= 1
    address = Person.objects.get(integrated_number=integrated_number).versions.get().address

    backup = run(
        [str(BACKUP / "linkage-backup")], DATABASE_URL=database_url(), BACKUP_DIR=str(tmp_path)
    )
    assert backup.returncode == 0, backup.stderr
    dump = Path(backup.stdout.strip().splitlines()[-1])
    assert dump.exists() and Path(f"{dump}.sha256").exists()
    assert oct(dump.stat().st_mode & 0o777) == "0o600"

    # Nothing in the dump reveals the number or holds a key.
    plain = run(["pg_restore", "--file", "-", str(dump)])
    assert plain.returncode == 0, plain.stderr
    assert integrated_number in plain.stdout  # the data is there
    assert someone.individual_number not in plain.stdout
    for key in (*settings.FIELD_ENCRYPTION_KEYS, settings.BLIND_INDEX_KEY, settings.AUDIT_LOG_KEY):
        assert key not in plain.stdout

    restore = run(
        [str(BACKUP / "linkage-restore"), str(dump), restored_name], ADMIN_DATABASE_URL=admin_url()
    )
    assert restore.returncode == 0, restore.stderr
    restored_url = database_url().rsplit("/", 1)[0] + f"/{restored_name}"

    # With the keys: found by the number itself, its data intact, the access records' chain whole.
    read = manage(restored_url, READ_BACK, someone.individual_number)
    assert read.returncode == 0, read.stderr
    assert f"found {integrated_number}" in read.stdout
    assert f"address {address}" in read.stdout
    assert f"{records} access records; the chain holds" in read.stdout

    # Into the same database again: refused, nothing overwritten.
    again = run(
        [str(BACKUP / "linkage-restore"), str(dump), restored_name], ADMIN_DATABASE_URL=admin_url()
    )
    assert again.returncode == 2
    assert "exists" in again.stderr


def test_the_backup_refuses_to_run_beside_the_keys(tmp_path: Path) -> None:
    refused = run(
        [str(BACKUP / "linkage-backup")],
        DATABASE_URL=database_url(),
        BACKUP_DIR=str(tmp_path),
        FIELD_ENCRYPTION_KEYS="x",
    )
    assert refused.returncode == 2
    assert "FIELD_ENCRYPTION_KEYS is in the environment" in refused.stderr
    assert list(tmp_path.iterdir()) == []
