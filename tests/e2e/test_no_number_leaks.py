"""The demo flow end to end, then a look where an individual number must never be: every
log line the configured handlers wrote, and the whole database as a dump (the SQLite file
with its write-ahead log, or pg_dump on PostgreSQL)."""

from __future__ import annotations

import io
import logging
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from backbone.models import RECORD_MODELS, BusinessSystem
from linkage.models import Person
from tests.backbone.conftest import deliver_pending_notices
from tests.conftest import post_change
from tests.factories import KeyedClient, address_change_body
from tests.residents import signed_in


@pytest.fixture
def configured_log() -> Iterator[io.StringIO]:
    """What the configured handlers (with their masking filter) write, at DEBUG, to a buffer."""
    root = logging.getLogger()
    handlers = [h for h in root.handlers if isinstance(h, logging.StreamHandler) and h.filters]
    assert handlers, "the LOGGING setting's console handler with its filter"
    buffer = io.StringIO()
    previous = [(h, h.setStream(buffer), h.level) for h in handlers]
    level = root.level
    root.setLevel(logging.DEBUG)
    for handler in handlers:
        handler.setLevel(logging.DEBUG)
    try:
        yield buffer
    finally:
        root.setLevel(level)
        for handler, stream, handler_level in previous:
            handler.setStream(stream)
            handler.setLevel(handler_level)


def demo_flow(supervisor: Any, keyed: KeyedClient) -> None:
    """Residents registered and moved through the business systems over HTTP, notices
    delivered, a clerk's searches, reveal and export, and the API's refusals."""
    call_command("seed_demo", residents=6, seed=11, moves=0.5, stdout=io.StringIO())
    deliver_pending_notices()
    person = Person.objects.order_by("pk").first()
    assert person is not None
    browser = signed_in(supervisor)
    browser.post(
        reverse("person_search_by_number"), {"individual_number": person.individual_number}
    )
    browser.post(reverse("person_reveal", args=[person.integrated_number]))
    today = timezone.localdate().isoformat()
    browser.get(
        reverse("changed_resident_export"),
        {"date_from": today, "date_to": today, "encoding": "utf-8"},
    ).getvalue()
    wrong_digit = person.individual_number[:-1] + str((int(person.individual_number[-1]) + 1) % 10)
    ns = keyed.number_system
    wrong = address_change_body(number_system=ns, individual_number=wrong_digit)
    assert post_change(keyed, wrong).status_code == 400
    taken = address_change_body(number_system=ns, address_number="1")
    post_change(keyed, taken)
    assert post_change(keyed, {**taken, "event_id": "other"}).status_code in (200, 201, 409)


def individual_numbers() -> set[str]:
    numbers = {person.individual_number for person in Person.objects.all()}
    for model in RECORD_MODELS.values():
        numbers |= {record.individual_number for record in model.objects.all()}
    assert len(numbers) >= 6
    return numbers


def database_dump() -> bytes:
    if connection.vendor == "sqlite":
        path = Path(connection.settings_dict["NAME"])
        return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
    params = connection.get_connection_params()
    result = subprocess.run(  # noqa: S603 (pg_dump with our own arguments)
        [  # noqa: S607 (pg_dump from PATH, as psql is)
            "pg_dump",
            "--no-owner",
            "--host",
            str(params.get("host", "127.0.0.1")),
            "--port",
            str(params.get("port", 5432)),
            "--username",
            str(params.get("user", "postgres")),
            str(params["dbname"]),
        ],
        capture_output=True,
        check=True,
        env={"PGPASSWORD": str(params.get("password") or "")},
    )
    return result.stdout


def test_no_individual_number_in_the_logs_or_the_database_after_the_demo_flow(
    systems: dict[str, BusinessSystem],
    supervisor: Any,
    configured_log: io.StringIO,
    tax: KeyedClient,
) -> None:
    demo_flow(supervisor, tax)
    numbers = individual_numbers()

    logged = configured_log.getvalue()
    assert len(logged.splitlines()) > 20  # the flow did log
    assert [n for n in numbers if n in logged] == []

    dump = database_dump()
    assert (len(dump) > 10_000 and b"linkage_person" in dump) or len(dump) > 100_000
    assert [n for n in numbers if n.encode() in dump] == []
    assert settings.FIELD_ENCRYPTION_KEYS[0].encode() not in dump
