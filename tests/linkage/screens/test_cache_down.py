"""The shared cache only saves work: Redis down or hung never stops a screen or a scrape
(linkage.readings), as it never stops the API."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import KeyedClient
from tests.residents import hanako_registered, register, signed_in


def test_a_cache_that_cannot_be_reached_leaves_every_screen_answering(
    jyuki: KeyedClient,
    tax: KeyedClient,
    clerk: Any,
    settings: Any,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    unreachable_cache: dict[str, Any],
) -> None:
    hanako = hanako_registered(jyuki, tax)
    register(jyuki)
    browser = signed_in(clerk)
    settings.CACHES = unreachable_cache
    started = time.monotonic()
    with caplog.at_level("WARNING", logger="linkage.guards"):
        dashboard = browser.get(reverse("home"))
        person = browser.get(reverse("person", args=[hanako.integrated_number]))
        scrape = Client().get("/metrics", REMOTE_ADDR="127.0.0.1")
    seconds = time.monotonic() - started

    assert dashboard.status_code == 200
    assert dashboard.context["figures"].status_counts["requesting"] == 2
    assert person.status_code == 200 and "鈴木　花子" in person.content.decode()
    assert scrape.status_code == 200 and b"linkage_code_requests" in scrape.content
    warnings = [record for record in caplog.records if record.levelname == "WARNING"]
    assert [record.getMessage() for record in warnings] == [
        "the shared cache cannot be reached: readings are made afresh"
    ]
    # A hung Redis costs one call its timeout; the process then leaves the cache alone.
    assert seconds < settings.REDIS_CACHE_OPTIONS["socket_timeout"] + 3
