"""Per-key request rate limits (OWASP ASVS V11.1, V4.2): a runaway or stolen key cannot
flood linkage. Each key has its own budget, its `rate_limit` or API_RATE_LIMIT; the counts
live in the cache (CACHE_URL: Redis, to share them between processes).

A key's requests are counted in fixed windows of the rate's period (a minute for "12000/m"),
one counter per key and window, raised by one atomic increment per request. DRF's
SimpleRateThrottle, used before, kept the time of every request of the period in one cached
list that each request read and wrote back whole: at the default rate up to 12,000 entries a
request, and two workers writing it at once lost each other's counts. A fixed window lets a
key send up to twice its rate across the turn of a window; that is the price of counting in
one integer.

A cache that cannot be reached does not stop the API: the request goes through uncounted,
and a WARNING says so at most once a minute per process; after a hang the process leaves the
cache alone for a few seconds (linkage.guards), so a hung Redis does not hold every request
for its timeout. The limit guards against a runaway key; refusing every system's address
changes while Redis is down would stop the municipality's work instead (docs/security.md)."""

from __future__ import annotations

import math
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from ..guards import shared_cache
from ..models import ApiKey, BackboneClient, StaffToken

UNCOUNTED = "API rate limits are not counted: the cache cannot be reached"


def _now() -> float:
    return time.time()


class ApiKeyRateThrottle(SimpleRateThrottle):
    scope = "api_key"

    def get_rate(self) -> str:
        return settings.API_RATE_LIMIT

    def allow_request(self, request: Request, view: Any) -> bool:
        key = _key_of(request)
        if key is None:
            return True  # a session (a clerk's browser) or an anonymous request: no key
        allowed, duration = self.parse_rate(key.rate_limit or settings.API_RATE_LIMIT)
        assert allowed is not None and duration is not None  # noqa: S101 (a rate is set)
        window = math.floor(_now() / duration)
        self.window_ends = (window + 1) * duration
        counter = f"{_cache_key(key)}:{window}"
        counted = shared_cache.call(
            lambda: _counted(counter, duration), fallback=0, warning=UNCOUNTED
        )
        return counted <= allowed  # 0: the cache is down, see the module's docstring

    def wait(self) -> float:
        """Seconds until the window ends and the key may send again (Retry-After)."""
        return max(self.window_ends - _now(), 1.0)


def _counted(counter: str, duration: int) -> int:
    """This request counted in its window: how many the window has had. The counter outlives
    its window (it is only read within it), so it never expires between two steps here.
    The project's Redis cache (config.cache) counts in one round trip."""
    count = getattr(cache, "count", None)
    if count is not None:
        return int(count(counter, 2 * duration))
    try:
        return int(cache.incr(counter))
    except ValueError:  # the window's first request
        if cache.add(counter, 1, timeout=2 * duration):
            return 1
        return int(cache.incr(counter))  # another worker counted the first meanwhile


def _cache_key(key: ApiKey) -> str:
    return f"throttle:{type(key).__name__}:{key.pk}"


def _key_of(request: Request) -> ApiKey | None:
    if isinstance(request.user, BackboneClient):
        return request.user
    if isinstance(request.auth, StaffToken):
        return request.auth
    return None
