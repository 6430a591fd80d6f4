"""Django's Redis cache, with one client per connection pool and a counter in one round trip.

Django's RedisCacheClient builds a new `redis.Redis` for every cache call; each copies the
library's table of response callbacks (two dictionaries of about a hundred entries). Every
API request makes two or three cache calls (its rate counter, the code-request drain's flag),
and building those clients cost more than the calls themselves. A `redis.Redis` over a pool is
safe to share between threads (redis-py takes a connection from the pool for each command), so
one is kept per pool.

`count` raises a counter and sets its lifetime in one round trip: the rate limit's window
counter (linkage.api.throttling). Django's `incr` asks whether the key exists first, and a
window's first request then needs a third call to create it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient


class RedisCacheClient(DjangoRedisCacheClient):
    # Django's own attributes, which its type stubs leave out.
    _pools: dict[int, Any]
    _client: Any
    _get_connection_pool: Callable[[bool], Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}  # by id of the pool (Django keeps its pools)

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            # Two threads may both build one here; either serves.
            client = self._clients.setdefault(id(pool), self._client(connection_pool=pool))
        return client

    def count(self, key: str, timeout: int) -> int:
        client = self.get_client(key, write=True)
        pipeline = client.pipeline(transaction=True)
        pipeline.incr(key)
        pipeline.expire(key, timeout)
        counted, _ = pipeline.execute()
        return int(counted)


class RedisCache(DjangoRedisCache):
    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient

    def count(self, key: str, timeout: int) -> int:
        """Raise `key`'s counter by one (from 0 if it is missing) and keep it `timeout` seconds
        from now: the count, atomically. A counter kept a little longer than its last use
        costs nothing; this one round trip replaces Django's two or three."""
        client = cast(RedisCacheClient, self._cache)
        return client.count(self.make_and_validate_key(key), timeout)
