"""The code acquisition files are gathered by one drain per batch window, however many persons'
serial numbers were requested in it, and a person after the drain has started schedules the
next one (linkage.tasks._drain_soon); one confirmation run at a time (linkage.tasks._alone)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache

from config import celery_app
from linkage import tasks
from linkage.clients import intermediate
from linkage.metrics import _queue_depths
from linkage.models import CodeRequest, CodeRequestStage
from primitives.http import PeerUnavailable
from tests.conftest import post_change
from tests.factories import address_change_body, backbone_client

REQUEST_QUEUE = settings.CELERY_QUEUES_BY_STAGE["request"]


SHARED_CACHE = {
    "default": {
        "BACKEND": "config.cache.RedisCache",
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
            "BACKEND": "config.cache.RedisCache",
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


def test_a_run_that_renews_its_hold_is_not_joined_after_the_timeout(
    shared_cache: None,
) -> None:
    """A confirmation run over a city's backlog lasts longer than the hold's timeout; it
    renews the hold after each batch, so no second run starts beside it. Without a renewal
    the hold ends after its timeout (a run that died)."""
    key = "test:confirm-hold"
    with tasks._alone(key, 2) as first:
        assert first
        for _ in range(3):
            time.sleep(1)  # three seconds in all, past the hold's two
            first.renew()
            with tasks._alone(key, 2) as second:
                assert not second
    assert cache.get(key) is None  # released when the run ended
    with tasks._alone(key, 2) as died:
        time.sleep(2.3)
        with tasks._alone(key, 2) as next_run:
            assert died and next_run


def test_without_a_shared_cache_every_run_goes_on() -> None:
    with (
        tasks._alone(tasks._CONFIRM_RUNNING, 60) as first,
        tasks._alone(tasks._CONFIRM_RUNNING, 60) as second,
    ):
        assert (bool(first), bool(second)) == (True, True)


@pytest.mark.django_db(transaction=True)
def test_registrations_in_a_window_are_released_by_one_drain(
    nothing_queued: None,
    shared_cache: None,
    live_server: Any,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The API's new persons, one a request: one drain message for the window, and one
    serial-number request over HTTP for all of them, then the files' drain."""
    settings.PEER_URLS = {
        **settings.PEER_URLS,
        "intermediate": f"{live_server.url}/sim/intermediate",
    }
    jyuki = backbone_client(number_system="01", name="住基")
    for _ in range(3):
        assert post_change(jyuki, address_change_body()).status_code == 201
    assert queued() == 1  # not one message each

    requests_sent: list[int] = []
    real = intermediate.serial_number_requests

    def counted(batch: Any) -> Any:
        requests_sent.append(len(batch))
        return real(batch)

    monkeypatch.setattr(intermediate, "serial_number_requests", counted)
    assert tasks.code_requests_pending_drain() == 3
    assert requests_sent == [3]
    assert set(CodeRequest.objects.values_list("stage", flat=True)) == {
        CodeRequestStage.SERIAL_REQUESTED
    }
    assert queued() == 2  # and the files' drain is scheduled

    assert tasks.code_requests_pending_drain() == 0  # run again: nothing pending, nothing sent
    assert requests_sent == [3]


@pytest.mark.django_db
def test_without_a_shared_cache_a_registration_is_released_alone(
    nothing_queued: None,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    sent: list[tuple[Any, ...]] = []
    monkeypatch.setattr(
        tasks.code_request_advance, "apply_async", lambda args, **_: sent.append(args)
    )
    with django_capture_on_commit_callbacks(execute=True):
        tasks.code_request_release_soon(7)
    assert sent == [(7,)]
    assert queued() == 0
