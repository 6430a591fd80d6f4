"""GET /healthz: 200 when every dependency answers, 503 naming the one that does not."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from linkage.models import AuditChainVerification
from primitives.crypto import keyring
from tests.conftest import Redirecting

pytestmark = pytest.mark.django_db


@pytest.fixture
def reachable_intermediate(live_server: Any, settings: Any) -> None:
    settings.PEER_URLS = {**settings.PEER_URLS, "intermediate": f"{live_server.url}/healthz/live"}
    cache.delete("health:intermediate")


def readiness() -> Any:
    return Client().get("/healthz")


@pytest.mark.django_db(transaction=True)
def test_ready_when_every_dependency_answers(reachable_intermediate: None) -> None:
    answer = readiness()
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert body["status"] == "ok"
    assert body["failing"] == []
    assert set(body["checks"]) == {
        "database",
        "broker",
        "cache",
        "intermediate_server",
        "encryption_keys",
        "audit_chain",
    }
    assert answer["Cache-Control"].startswith("max-age=0")


def test_liveness_asks_no_dependency(settings: Any) -> None:
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    assert Client().get("/healthz/live").json() == {"status": "ok"}


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_intermediate_server_is_503(settings: Any, unused_port_url: str) -> None:
    settings.PEER_URLS = {**settings.PEER_URLS, "intermediate": unused_port_url}
    cache.delete("health:intermediate")
    answer = readiness()
    assert answer.status_code == 503
    assert answer.json()["failing"] == ["intermediate_server"]
    assert "unreachable" in answer.json()["checks"]["intermediate_server"]["detail"]


@pytest.mark.django_db(transaction=True)
def test_a_redirecting_intermediate_server_is_503_and_says_why(
    settings: Any, redirecting: Redirecting
) -> None:
    settings.PEER_URLS = {**settings.PEER_URLS, "intermediate": f"{redirecting.url}/im"}
    cache.delete("health:intermediate")
    answer = readiness()
    assert answer.status_code == 503
    detail = answer.json()["checks"]["intermediate_server"]["detail"]
    assert "302 redirect, not followed: configure the URL the peer answers at" in detail


@pytest.mark.django_db(transaction=True)
def test_a_broker_down_is_503(reachable_intermediate: None, monkeypatch: Any) -> None:
    from config.celery import app

    monkeypatch.setattr(app.conf, "broker_url", "redis://127.0.0.1:1/0")
    # Celery reads CELERY_BROKER_URL from the environment before its configuration (CI sets
    # it). Patched after the setting, so that the setting's undo restores the real URL.
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")
    answer = readiness()
    assert answer.status_code == 503
    assert answer.json()["failing"] == ["broker"]


@pytest.mark.django_db(transaction=True)
def test_missing_keys_are_503(reachable_intermediate: None, settings: Any) -> None:
    settings.FIELD_ENCRYPTION_KEYS = []
    keyring.cache_clear()
    try:
        answer = readiness()
    finally:
        keyring.cache_clear()
    assert answer.status_code == 503
    assert answer.json()["failing"] == ["encryption_keys"]
    assert "FIELD_ENCRYPTION_KEYS" in answer.json()["checks"]["encryption_keys"]["detail"]


@pytest.mark.django_db(transaction=True)
def test_a_broken_audit_chain_is_503(reachable_intermediate: None) -> None:
    AuditChainVerification.objects.create(
        records=3, last_hash="0" * 64, holds=False, broken_record_id=2, reason="hash"
    )
    answer = readiness()
    assert answer.status_code == 503
    assert answer.json()["failing"] == ["audit_chain"]
    assert "#2" in answer.json()["checks"]["audit_chain"]["detail"]


@pytest.mark.django_db(transaction=True)
def test_a_database_down_is_503(reachable_intermediate: None, monkeypatch: Any) -> None:
    from linkage import health

    def refused() -> str:
        from django.db import OperationalError

        raise OperationalError("connection refused")

    # The database is what the test itself runs on: the check's own query is made to fail.
    monkeypatch.setitem(health.CHECKS, "database", refused)
    answer = readiness()
    assert answer.status_code == 503
    assert answer.json()["failing"] == ["database"]


@pytest.mark.django_db(transaction=True)
def test_a_cache_down_is_503(reachable_intermediate: None, settings: Any) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "config.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    answer = readiness()
    assert answer.status_code == 503
    assert answer.json()["failing"] == ["cache"]
    assert "ConnectionError" in answer.json()["checks"]["cache"]["detail"]
