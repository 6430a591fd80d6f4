"""The project's Redis cache (config.cache) against the machine's Redis: one client per pool,
and a counter raised and kept alive in one atomic round trip."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import cast

import pytest
import redis

from config.cache import RedisCache, RedisCacheClient

LOCATION = "redis://127.0.0.1:6379/13"


@pytest.fixture
def shared() -> Iterator[RedisCache]:
    backend = RedisCache(LOCATION, {})
    backend.clear()
    yield backend
    backend.clear()


def test_one_client_serves_every_call(shared: RedisCache) -> None:
    shared.set("a", "x")
    assert shared.get("a") == "x"
    client = shared._cache.get_client()
    assert shared._cache.get_client(write=True) is client
    assert client.connection_pool is cast(RedisCacheClient, shared._cache)._pools[0]


def test_a_counter_starts_at_one_and_lives_its_timeout(shared: RedisCache) -> None:
    assert [shared.count("window", 120) for _ in range(3)] == [1, 2, 3]
    assert shared.get("window") == 3
    raw = redis.Redis.from_url(LOCATION)
    assert 118 <= cast(int, raw.ttl(shared.make_and_validate_key("window"))) <= 120
    assert shared.count("other", 120) == 1  # each key its own


def test_threads_counting_at_once_lose_no_count(shared: RedisCache) -> None:
    def count() -> None:
        for _ in range(200):
            shared.count("busy", 60)

    threads = [threading.Thread(target=count) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert shared.get("busy") == 800
