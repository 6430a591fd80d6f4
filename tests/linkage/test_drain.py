"""The code acquisition files are gathered by one drain per batch window, however many persons'
serial numbers were requested in it, and a person after the drain has started schedules the
next one (linkage.tasks._drain_soon); one confirmation run at a time (linkage.tasks._alone)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache

from config import celery_app
from linkage import tasks
from linkage.metrics import _queue_depths
from linkage.models import CodeRequest, CodeRequestStage
from primitives.http import PeerUnavailable
from tests.conftest import post_change
from tests.factories import address_change_body

REQUEST_QUEUE = settings.CELERY_QUEUES_BY_STAGE["request"]


SHARED_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/12",
    }
}


@pytest.fixture
def nothing_queued() -> Iterator[None]:
    celery_app.control.purge()
    yield
    celery_app.control.purge()


@pytest.fixture
def shared_cache(settings: Any) -> Iterator[None]:
    """The cache every worker shares in production (CACHE_URL: Redis)."""
    settings.CACHES = SHARED_CACHE
    cache.clear()
    yield
    cache.clear()


def queued() -> int:
    return _queue_depths()[REQUEST_QUEUE]


@pytest.mark.django_db
def test_many_persons_in_a_window_schedule_one_drain(
    nothing_queued: None, shared_cache: None
) -> None:
    for _ in range(50):
        tasks._drain_soon()
    assert queued() == 1

    tasks.code_acquisition_files_drain()  # the drain starts (in this process): nothing to gather
    tasks._drain_soon()  # a person after it: the next drain
    assert queued() == 2


def test_with_a_cache_of_its_own_each_person_schedules_a_drain(nothing_queued: None) -> None:
    """LocMemCache (the demo, the tests): another process's drain is invisible to it."""
    for _ in range(3):
        tasks._drain_soon()
    assert queued() == 3


def test_without_a_cache_every_person_schedules_a_drain(
    nothing_queued: None, settings: Any
) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    for _ in range(3):
        tasks._drain_soon()
    assert queued() == 3


@pytest.mark.django_db
def test_one_confirmation_run_at_a_time_with_a_shared_cache(
    shared_cache: None, jyuki: Any, settings: Any
) -> None:
    """A run that finds another under way ends at once: it asks nothing (the intermediate
    server is a closed port here, so a question would raise)."""
    settings.PEER_URLS = {**settings.PEER_URLS, "intermediate": "http://127.0.0.1:9/sim"}
    post_change(jyuki, address_change_body())
    CodeRequest.objects.update(stage=CodeRequestStage.SENT)

    with tasks._alone(tasks._CONFIRM_RUNNING, 60) as first:
        assert first
        assert tasks.code_requests_confirm() is None
    with pytest.raises(PeerUnavailable):  # the other run ended: this one goes on and asks
        tasks.code_requests_confirm()
    assert cache.get(tasks._CONFIRM_RUNNING) is None  # released when the run ended


def test_without_a_shared_cache_every_run_goes_on() -> None:
    with (
        tasks._alone(tasks._CONFIRM_RUNNING, 60) as first,
        tasks._alone(tasks._CONFIRM_RUNNING, 60) as second,
    ):
        assert (first, second) == (True, True)
