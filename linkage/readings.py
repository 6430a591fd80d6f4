"""Readings kept in the shared cache: what every process may reuse for a while (the work's
figures, the business labels), read at most once per period for the whole installation.

The cache only saves work: one that cannot be reached (Redis down or hung) is a miss and the
reading is made afresh (linkage.guards). It never stops a screen, as it never stops the
API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache

from .guards import shared_cache

T = TypeVar("T")
UNREACHABLE = "the shared cache cannot be reached: readings are made afresh"


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
    return dict(shared_cache.call(lambda: cache.get_many(keys), fallback={}, warning=UNREACHABLE))


def keep(key: str, value: object, seconds: float) -> None:
    shared_cache.call(lambda: cache.set(key, value, seconds), fallback=None, warning=UNREACHABLE)


def forget(key: str) -> None:
    """Read afresh next time (what the reading rests on has changed here). Tried even while
    the cache is left alone: a reading kept from before the failure would outlive the
    change."""
    shared_cache.call(lambda: cache.delete(key), fallback=0, warning=UNREACHABLE, insist=True)
