"""A shared service's calls (linkage.guards): a failure gives the fallback; after a hang the
service is left alone for a while, after a quick refusal it is tried again at once; each
warning is said at most once a minute."""

from __future__ import annotations

import time

import pytest

from linkage import guards
from linkage.guards import Guard


class Down:
    def __init__(self, hangs: float = 0.0) -> None:
        self.hangs = hangs
        self.calls = 0

    def __call__(self) -> int:
        self.calls += 1
        time.sleep(self.hangs)
        raise ConnectionError("refused")


def test_a_quick_refusal_lets_the_next_call_try() -> None:
    guard, down = Guard("test"), Down()
    assert [guard.call(down, fallback=-1) for _ in range(3)] == [-1, -1, -1]
    assert down.calls == 3
    assert guard.call(lambda: 7, fallback=-1) == 7


def test_a_hang_leaves_the_service_alone_until_the_retry_time() -> None:
    guard, down = Guard("test"), Down(hangs=guards.SLOW_SECONDS)
    assert guard.call(down, fallback=-1) == -1
    failed_at = time.monotonic()
    assert guard.call(down, fallback=-1) == -1
    assert guard.call(lambda: 7, fallback=-1) == -1  # not even tried
    assert down.calls == 1
    assert failed_at < guard.left_until <= failed_at + guards.RETRY_AFTER_SECONDS
    guard.left_until = time.monotonic()  # the retry time has come
    assert guard.call(lambda: 7, fallback=-1) == 7


def test_an_insisted_call_answered_ends_the_wait_for_everyone() -> None:
    guard, down = Guard("test"), Down(hangs=guards.SLOW_SECONDS)
    guard.call(down, fallback=-1)
    assert guard.call(down, fallback=-1, insist=True) == -1  # still hung: tried, and failed
    assert down.calls == 2
    assert guard.left_alone()
    assert guard.call(lambda: 7, fallback=-1, insist=True) == 7  # an invalidation is tried
    assert not guard.left_alone()
    assert guard.call(lambda: 8, fallback=-1) == 8  # the service is back for every caller


def test_each_warning_is_said_once_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    guard = Guard("test")
    with caplog.at_level("DEBUG", logger="linkage.guards"):
        for _ in range(3):
            guard.call(Down(), fallback=None, warning="counts are lost")
            guard.call(Down(), fallback=None, warning="readings are made afresh")
            guard.call(Down(), fallback=None)
    said = [(record.levelname, record.getMessage()) for record in caplog.records]
    assert said.count(("WARNING", "counts are lost")) == 1
    assert said.count(("WARNING", "readings are made afresh")) == 1
    assert said.count(("DEBUG", "the test cannot be reached")) == 3
