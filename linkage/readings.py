"""Readings kept in the shared cache: what every process may reuse for a while (the work's
figures, the business labels), read at most once per period for the whole installation.

The cache only saves work: one that cannot be reached (Redis down or hung) is a miss, the
reading is made afresh, and a WARNING says so at most once a minute. After a failure the
process leaves the cache alone for RETRY_AFTER_SECONDS, so that a hung Redis costs one
request its timeout (REDIS_CACHE_OPTIONS), not every cache call of every request. It never
stops a screen, as it never stops the API (linkage.api.throttling).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache

logger = logging.getLogger(__name__)

T = TypeVar("T")
RETRY_AFTER_SECONDS = 10.0
UNREACHABLE_WARNING_SECONDS = 60.0
_left_until = 0.0
_warned_at = -UNREACHABLE_WARNING_SECONDS


def kept(key: str, seconds: float, read: Callable[[], T], kind: type[T]) -> T:
    """The reading kept under `key`, or `read()`'s, then kept for `seconds`. A kept value
    that is not a `kind` (another release's, say) is read afresh."""
    found = found_many([key]).get(key)
    if isinstance(found, kind):
        return found
    value = read()
    keep(key, value, seconds)
    return value


def found_many(keys: list[str]) -> dict[str, object]:
    """The readings kept under `keys` (none while the cache is down)."""
    if _left_alone():
        return {}
    try:
        return dict(cache.get_many(keys))
    except Exception:  # any backend's error: the cache is down
        _unreachable()
        return {}


def keep(key: str, value: object, seconds: float) -> None:
    if _left_alone():
        return
    try:
        cache.set(key, value, seconds)
    except Exception:
        _unreachable()


def forget(key: str) -> None:
    """Read afresh next time (what the reading rests on has changed here)."""
    try:
        cache.delete(key)
    except Exception:
        _unreachable()


def _left_alone() -> bool:
    return time.monotonic() < _left_until


def _unreachable() -> None:
    global _left_until, _warned_at
    now = time.monotonic()
    _left_until = now + RETRY_AFTER_SECONDS
    if now - _warned_at >= UNREACHABLE_WARNING_SECONDS:
        _warned_at = now
        logger.warning(
            "the shared cache cannot be reached: readings are made afresh", exc_info=True
        )
