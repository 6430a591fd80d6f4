"""Calls to a shared service that helps the work but must never stop it: the cache (it only
counts, keeps and flags: rate limits, readings, the drains' flags) and the broker (work it
cannot take now is found by the sweeps). When the service cannot be reached (Redis or
RabbitMQ down or hung) the caller gets its fallback, and a WARNING says what that means at
most once a minute for each warning.

After a failure that took time (a hang, ended by REDIS_CACHE_OPTIONS' or
CELERY_BROKER_TRANSPORT_OPTIONS' timeout) the process leaves that service alone for
RETRY_AFTER_SECONDS, for every use at once: a hung Redis costs one request its timeout, not
every call of every request. Without that, each address change waited a second for the rate
limit, another for the code-request drain's flag and seconds for each task it enqueued, for
as long as Redis hung. A failure that cost nothing (a connection refused while Redis
restarts) leaves the next call free to try: work the broker takes at once is not left to the
sweeps.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")
RETRY_AFTER_SECONDS = 10.0
SLOW_SECONDS = 0.25  # a failure that took longer was a hang
WARNING_SECONDS = 60.0


class Guard:
    """One shared service's calls, left alone for a while after one fails."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.left_until = 0.0
        self.warned_at: dict[str, float] = {}

    def call(
        self, call: Callable[[], T], *, fallback: T, warning: str = "", insist: bool = False
    ) -> T:
        """`call()`, or `fallback` when the service cannot be reached, or hung in the last
        RETRY_AFTER_SECONDS (unless `insist`: an invalidation is worth the wait; when it is
        answered, the service is back for every caller). `warning` says what a failure means
        for the work; without one it is logged at DEBUG."""
        if self.left_alone() and not insist:
            return fallback
        started = time.monotonic()
        try:
            answer = call()
        except Exception:  # any backend's error: the service is down
            self.failed(warning, since=started)
            return fallback
        self.left_until = 0.0
        return answer

    def left_alone(self) -> bool:
        return time.monotonic() < self.left_until

    def failed(self, warning: str, *, since: float) -> None:
        """A call begun at `since` failed: if it hung, leave the service alone for a while;
        say what it means."""
        now = time.monotonic()
        if now - since >= SLOW_SECONDS:
            self.left_until = now + RETRY_AFTER_SECONDS
        if not warning:
            logger.debug("the %s cannot be reached", self.name, exc_info=True)
        elif now - self.warned_at.get(warning, -WARNING_SECONDS) >= WARNING_SECONDS:
            self.warned_at[warning] = now
            logger.warning(warning, exc_info=True)

    def reset(self) -> None:
        """Try the service again at once (a test's outage is not the next test's)."""
        self.left_until = 0.0
        self.warned_at.clear()


shared_cache = Guard("shared cache")
broker = Guard("broker")


def reset() -> None:
    shared_cache.reset()
    broker.reset()
