"""A database that cannot be reached is answered as unavailable for now (503 with
Retry-After), not as a failure (500): vendors' clients retry a 503, clerks read what to do.
The outage itself, with the whole chain running, is rehearsed in
tests/chain/test_chain_at_scale.py; here the database's error is raised where Django's
backend would raise it, before every query of the request."""

from __future__ import annotations

import base64
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.db import InterfaceError, OperationalError
from django.test import Client
from rest_framework.test import APIClient

from config.settings.base import DATABASE_KEEPALIVES, database_from_env
from tests.conftest import ADDRESS_CHANGES_URL, REFUSED, Outage, linkage_table_counts
from tests.factories import KeyedClient, address_change_body


@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_the_api_answers_503_with_retry_after_and_stores_nothing(
    jyuki: KeyedClient, outage: Outage, error: type[Exception]
) -> None:
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Token {jyuki.key}")
    before = linkage_table_counts()
    outage.down(error)

    answer = client.post(ADDRESS_CHANGES_URL, address_change_body(), format="json")

    assert answer.status_code == 503
    assert answer["Content-Type"] == "application/problem+json"
    assert answer["Retry-After"] == "30"
    problem = answer.json()
    assert problem["type"] == "urn:linkage:problem:database-unavailable"
    assert [error["code"] for error in problem["errors"]] == ["database_unavailable"]
    assert "same event_id" in problem["detail"]
    assert REFUSED not in answer.content.decode()  # the server's own words stay in its log
    outage.up()
    assert linkage_table_counts() == before


@pytest.mark.parametrize(
    ("language", "words"),
    [("ja", "データベースに接続できない"), ("en", "The database cannot be reached")],
)
def test_a_screen_says_what_to_do_in_the_clerks_language(
    clerk: Any, outage: Outage, language: str, words: str
) -> None:
    browser = Client(raise_request_exception=False)
    browser.force_login(clerk)
    browser.cookies["django_language"] = language
    outage.down()

    page = browser.get("/persons/")

    assert page.status_code == 503
    assert page["Retry-After"] == "30"
    assert page["Content-Security-Policy"].startswith("default-src 'none'")
    text = page.content.decode()
    assert words in text
    assert f'<html lang="{language}">' in text


def test_one_request_line_and_one_error_line(
    clerk: Any, outage: Outage, caplog: pytest.LogCaptureFixture
) -> None:
    """The request's log line is written with its status (reading the user for it would meet
    the database again), and the error once, with its traceback for the operator."""
    browser = Client(raise_request_exception=False)
    browser.force_login(clerk)
    outage.down()

    with caplog.at_level("INFO"):
        page = browser.get("/persons/")

    assert page.status_code == 503
    assert page["X-Request-ID"]
    lines = [record for record in caplog.records if record.name == "linkage.request"]
    assert [(line.status, line.outcome) for line in lines] == [(503, "failed")]  # type: ignore[attr-defined]
    errors = [record for record in caplog.records if record.name == "django.request"]
    assert [(error.levelname, error.exc_info is not None) for error in errors] == [("ERROR", True)]


def test_any_other_error_is_still_a_500(jyuki: KeyedClient, outage: Outage) -> None:
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Token {jyuki.key}")
    outage.down(RuntimeError)

    answer = client.post(ADDRESS_CHANGES_URL, address_change_body(), format="json")

    assert answer.status_code == 500
    assert "Retry-After" not in answer
    assert answer.json()["errors"][0]["code"] == "server_error"


def test_the_schema_tells_every_operation_may_answer_it(db: None) -> None:
    schema = APIClient().get("/api/schema/?format=json").json()
    operations = {
        f"{method.upper()} {path}": operation
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    }
    assert len(operations) >= 16
    for name, operation in operations.items():
        unavailable = operation["responses"]["503"]
        assert "database_unavailable" in unavailable["description"], name
        assert "Retry-After" in unavailable["headers"], name
        assert "application/problem+json" in unavailable["content"], name
    # An operation's own 503 keeps its meaning beside the database's.
    records = operations["GET /api/v1/exchange-records"]["responses"]["503"]["description"]
    assert records.startswith("the intermediate server cannot be reached now; or ")


def test_an_oauth_client_reads_it_in_rfc_6749s_shape(db: None, outage: Outage) -> None:
    outage.down()

    answer = Client(raise_request_exception=False).post(
        "/oauth/token",
        {"grant_type": "client_credentials"},
        headers={"Authorization": "Basic " + base64.b64encode(b"01-x:secret").decode()},
        secure=True,
    )

    assert answer.status_code == 503, answer.content
    assert answer["Retry-After"] == "30"
    assert answer["Cache-Control"] == "no-store"
    assert answer.json()["error"] == "temporarily_unavailable"


def test_a_database_that_does_not_answer_costs_seconds_not_minutes(
    silent_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a connect timeout libpq waits for the server's answer for good, and every
    gunicorn thread that meets the database hangs with it. The settings give one (5 s,
    DATABASE_CONNECT_TIMEOUT); the connection is opened here as Django opens it, with the
    settings' options."""
    url = f"postgres://postgres@127.0.0.1:{silent_port}/linkage"
    monkeypatch.setenv("DATABASE_URL", url)
    assert database_from_env(Path("unused"))["OPTIONS"] == {
        "connect_timeout": 5,
        "tcp_user_timeout": 10_000,
        **DATABASE_KEEPALIVES,
    }
    monkeypatch.setenv("DATABASE_URL", f"{url}?connect_timeout=7&tcp_user_timeout=4000")
    options = database_from_env(Path("unused"))["OPTIONS"]
    assert (options["connect_timeout"], options["tcp_user_timeout"]) == (7, 4000)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DATABASE_CONNECT_TIMEOUT", "2")
    config = database_from_env(Path("unused"))
    outcome: list[BaseException] = []

    def connect() -> None:
        try:
            psycopg.connect(
                host=config["HOST"],
                port=config["PORT"],
                dbname=config["NAME"],
                user=config["USER"],
                **config["OPTIONS"],
            )
        except psycopg.OperationalError as error:
            outcome.append(error)

    started = time.monotonic()
    attempt = threading.Thread(target=connect, daemon=True)
    attempt.start()
    attempt.join(timeout=15)
    assert not attempt.is_alive(), "the connection attempt still waits after 15 s"
    assert len(outcome) == 1 and "timeout" in str(outcome[0]).lower()
    assert time.monotonic() - started < 6
