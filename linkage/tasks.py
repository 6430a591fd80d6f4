"""Celery tasks of the request unit (38), the confirmation unit (42) and the notices.

Thin: load by id, call a service, own the retries. Every task is idempotent (see
linkage.services.code_requests); acks_late with reject-on-worker-lost means a task killed
mid-way is delivered again rather than lost.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from functools import partial
from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.db import transaction

from primitives.http import TRANSIENT_ERRORS

from .clients.intermediate import FileNotReady
from .guards import broker, shared_cache
from .services import (
    audit,
    code_requests,
    copies,
    inquiries,
    notices,
    oauth_clients,
    retention,
    screening,
)
from .services.enqueueing import enqueue

logger = logging.getLogger(__name__)

# The longest a retry waits as a message with a countdown. The worker holds such a message,
# unacknowledged, until it is due: RabbitMQ closes the channel of a delivery unacknowledged
# for its consumer_timeout (30 minutes by default), and the worker dies of it (measured: an
# "Unrecoverable error: PreconditionFailed", the retry never run); with Redis, Celery's
# documentation warns, it goes to another worker after the visibility_timeout (an hour) and
# runs twice. A longer wait is left to the sweeps, which take the rows up when they are due.
COUNTDOWN_MAX_SECONDS = 600.0

# A periodic job's message is acknowledged when the job starts, not when it ends. The next
# run does what a run lost with its worker did not; and a run longer than RabbitMQ's
# consumer_timeout (30 minutes by default: the chain check over years of access records, a
# confirmation over a city's backlog against a slow intermediate server) must not cost the
# worker, which dies when a delivery stays unacknowledged that long and meets the same run
# again when it restarts (measured with a 75 s job under a 10 s timeout: the worker gone, the
# message back in the queue; acknowledged at the start, the job finished and the worker
# lived).
PERIODIC: dict[str, Any] = {"acks_late": False}

RETRYING: dict[str, Any] = {
    "acks_late": True,
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": 1,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 20,
}


# Set while a drain is scheduled and has not started: the persons whose serial numbers are
# requested meanwhile are gathered by that drain, so a thousand persons schedule one drain,
# not a thousand (with a cache shared by every worker: CACHE_URL). The drain clears it before
# it reads the rows, so a person whose row is written after that read schedules the next
# drain (the row is written before the flag is read). The timeout only frees the flag if a
# scheduled drain is lost; the sweep then gathers the rows anyway.
_DRAIN_SCHEDULED = "code-acquisition-files:drain-scheduled"
_DRAIN_FLAG_SECONDS = 60


def _drain_once(flag: str, task: Any, countdown: float) -> None:
    """Schedule `task` once for everything that becomes due within `countdown` seconds, where
    the workers share a cache (`flag` says a drain is scheduled; the drain clears it before it
    reads the rows); without one, a drain each time."""
    # Only a cache every worker shares (CACHE_URL) can say a drain is scheduled: a process's
    # own memory would hide the drain another process started. The cache down: a drain each
    # time, as without the flag.
    first = not _shared(caches["default"]) or shared_cache.call(
        lambda: cache.add(flag, 1, timeout=_DRAIN_FLAG_SECONDS), fallback=True
    )
    if not first:
        return
    try:
        task.apply_async(countdown=countdown)
    except Exception:
        shared_cache.call(lambda: cache.delete(flag), fallback=False)
        raise


def _drain_after_commit(flag: str, task: Any, countdown: float) -> None:
    """`_drain_once` run after a commit: a broker that is down delays the work, it does not fail
    the caller (the rows are committed, and the sweep finds them; linkage.guards)."""
    broker.call(
        lambda: _drain_once(flag, task, countdown),
        fallback=None,
        warning=f"could not schedule {task.name}; the sweep will find its rows",
    )


def _drain_soon() -> None:
    _drain_once(_DRAIN_SCHEDULED, code_acquisition_files_drain, settings.CODE_REQUEST_BATCH_WINDOW)


def _shared(backend: object) -> bool:
    return not isinstance(backend, LocMemCache | DummyCache)


@shared_task(**RETRYING)
def code_request_advance(code_request_id: int) -> None:
    """S28-S29 for one person, then gather the file (after a short window, so one file
    carries every person whose serial number was requested meanwhile)."""
    if code_requests.code_requests_serial_request(code_request_ids=[code_request_id]):
        _drain_soon()


# Code requests opened one at a time (the API: a registration each) are released to the
# request unit by one drain per CODE_REQUEST_BATCH_WINDOW where the workers share a cache: one
# serial-number request for every person registered meanwhile, not a message and a request
# each (a city registering through the API would otherwise put its file drain behind
# thousands of one-person messages: docs/operations.md).
_PENDING_DRAIN = "code-requests:pending-drain-scheduled"


def code_request_release_soon(code_request_id: int) -> None:
    """The new person's serial-number request (linkage.signals): after commit, gathered with
    the others of the window where the workers share a cache, else a message of its own. A
    broker that is down delays it: the sweep finds the row."""
    if _shared(caches["default"]):
        transaction.on_commit(
            partial(
                _drain_after_commit,
                _PENDING_DRAIN,
                code_requests_pending_drain,
                settings.CODE_REQUEST_BATCH_WINDOW,
            )
        )
    else:
        enqueue(code_request_advance, code_request_id)


@shared_task(**RETRYING)
def code_requests_pending_drain() -> int:
    """S28-S29 for every code request still pending, RELEASE_BATCH persons a request, then
    gather them into files. A retry after an outage repeats only the rows still pending."""
    with contextlib.suppress(Exception):
        cache.delete(_PENDING_DRAIN)
    moved = 0
    after = 0
    while batch := code_requests.code_requests_pending_ids(after=after):
        moved += code_requests.code_requests_serial_request(code_request_ids=batch)
        after = batch[-1]
    if moved:
        _drain_soon()
    return moved


@shared_task(**RETRYING)
def code_requests_advance(code_request_ids: list[int]) -> None:
    """S28-S29 for a batch of persons in one request (a bulk import releases its code
    requests this way: one message per few hundred persons), then gather them into files. A
    retry after an outage repeats only the rows still pending: each step is idempotent."""
    if code_requests.code_requests_serial_request(code_request_ids=code_request_ids):
        _drain_soon()


@shared_task(**RETRYING)
def code_acquisition_files_drain() -> None:
    with contextlib.suppress(Exception):
        cache.delete(_DRAIN_SCHEDULED)
    while (file := code_requests.code_acquisition_file_assemble()) is not None:
        code_acquisition_file_send.delay(file.pk)


@shared_task(**RETRYING)
def code_acquisition_file_send(file_id: int) -> None:
    if code_requests.code_acquisition_file_send(file_id=file_id):
        code_acquisition_file_distribute.apply_async((file_id,), countdown=0.5)


@shared_task(bind=True, **RETRYING)
def code_acquisition_file_distribute(self: Any, file_id: int) -> None:
    try:
        code_requests.code_acquisition_file_distribute(file_id=file_id)
    except FileNotReady as not_ready:
        # The peer's Retry-After, held no longer than a message may be. Waiting for the file
        # is not a failure: while the sweep would leave the file alone, a wait spends none of
        # the retries a database or peer outage may need (an outage had spent them, and the
        # wait after it gave up within seconds); after that, the usual limit holds.
        awaited = code_requests.code_acquisition_file_awaited(file_id=file_id)
        raise self.retry(
            countdown=min(not_ready.retry_after, COUNTDOWN_MAX_SECONDS),
            max_retries=self.request.retries + 1 if awaited else None,
        ) from not_ready


# Held while a confirmation run is under way (with a cache every worker shares): a run that
# finds it held ends at once, so runs do not overlap when one takes longer than the beat's
# interval (a first acquisition's 100,000 persons: every run would ask about all of them,
# and every worker process would be busy asking). The run renews it after each batch, so a
# run over a city's backlog (1,500,000 persons, 3,000 questions) is never joined by a second;
# the timeout frees it if a run dies.
_CONFIRM_RUNNING = "code-requests-confirm:running"
_CONFIRM_HOLD_SECONDS = 300


@shared_task(**PERIODIC)
def code_requests_confirm() -> dict[str, int] | None:
    """One confirmation run, or None when another is under way."""
    with _alone(_CONFIRM_RUNNING, _CONFIRM_HOLD_SECONDS) as hold:
        return code_requests.code_requests_confirm(progress=hold.renew) if hold else None


class _Hold:
    """A run's hold on `key` (see _alone): true when the run may go on."""

    def __init__(self, key: str, seconds: float, held: bool | None) -> None:
        self.key, self.seconds, self.held = key, seconds, held

    def __bool__(self) -> bool:
        return self.held is not False  # None: no shared cache, or it is down

    def renew(self) -> None:
        """Another `seconds` from now: the run is alive."""
        if self.held:
            shared_cache.call(lambda: cache.touch(self.key, self.seconds), fallback=False)


@contextlib.contextmanager
def _alone(key: str, seconds: float) -> Iterator[_Hold]:
    """Whether this run may go on: always without a shared cache (each process's own memory
    cannot see another's run) or with the cache down; with one, only if no other run holds
    `key`, which this run then holds until it ends, or `seconds` pass without a renewal."""
    held: bool | None = None
    if _shared(caches["default"]):
        held = shared_cache.call(lambda: cache.add(key, 1, timeout=seconds), fallback=None)
    try:
        yield _Hold(key, seconds, held)
    finally:
        if held:
            shared_cache.call(lambda: cache.delete(key), fallback=False)


@shared_task(**PERIODIC)
def code_requests_sweep() -> int:
    return code_requests.code_requests_sweep()


@shared_task(bind=True, acks_late=True)
def notice_deliver(self: Any, notice_id: int) -> bool:
    """One attempt; after a failure (recorded by the service, with the time of the next) the
    next one, as long as it takes (capped at NOTICE_RETRY_MAX_SECONDS apart): by this task's
    retry while the wait fits a message (COUNTDOWN_MAX_SECONDS), by the sweep after that."""
    attempt = notices.notice_deliver(notice_id=notice_id)
    if attempt.retry_in is not None and attempt.retry_in <= COUNTDOWN_MAX_SECONDS:
        raise self.retry(countdown=attempt.retry_in, max_retries=None)
    return attempt.delivered


@shared_task(**PERIODIC)
def notices_sweep() -> int:
    return notices.notices_sweep()


@shared_task(**PERIODIC)
def notices_prune() -> int:
    """Daily: the notices delivered more than NOTICE_KEEP_DAYS ago."""
    return notices.notices_prune()


# Copies that become due one at a time (the API: a request each) are gathered into one
# delivery per COPY_BATCH_WINDOW where the workers share a cache, as the code acquisition
# files are: a nightly refresh of thousands of copies is a few requests to the intermediate
# server, not one each. (Inquiries are not: each is answered while it is asked, so they are
# asked in parallel, one message each.)
_COPIES_DRAIN = "copies:drain-scheduled"


def copies_drain_soon() -> None:
    """After commit (linkage.signals): deliver the due copies in one task soon."""
    _drain_after_commit(_COPIES_DRAIN, copies_drain, settings.COPY_BATCH_WINDOW)


@shared_task(**RETRYING)
def copies_drain() -> int:
    with contextlib.suppress(Exception):
        cache.delete(_COPIES_DRAIN)
    return copies.copies_deliver(copy_ids=copies.copies_due_ids())


@shared_task(**RETRYING)
def copies_deliver(copy_ids: list[int]) -> int:
    """副本登録: the due copies to the intermediate server; an unavailable server is tried
    again (the copies stay due, and the sweep finds them if every retry fails)."""
    return copies.copies_deliver(copy_ids=copy_ids)


@shared_task(**PERIODIC)
def copies_sweep() -> int:
    return copies.copies_sweep()


@shared_task(**RETRYING)
def inquiries_ask(inquiry_ids: list[int]) -> int:
    """情報照会: the inquiries to the intermediate server; an unavailable server is tried
    again (the inquiries stay `sent`, and the sweep finds them if every retry fails)."""
    return inquiries.inquiries_ask(inquiry_ids=inquiry_ids)


@shared_task(**PERIODIC)
def inquiries_sweep() -> int:
    return inquiries.inquiries_sweep()


@shared_task(**PERIODIC)
def screening_due_sweep() -> tuple[int, int]:
    """Every minute: the new persons without a number screened again once committed (SPEC
    10.3); the persons screened and the review items opened."""
    done = screening.screening_due_sweep(seconds=settings.SCREENING_SWEEP_EVERY * 0.8)
    return done.persons, done.opened


@shared_task(**PERIODIC)
def individual_numbers_purge() -> int:
    """Daily: the retention purge (`manage.py purge_expired`)."""
    return len(retention.individual_numbers_purge())


@shared_task(**PERIODIC)
def oauth_records_purge() -> tuple[int, int]:
    """Hourly: expired access tokens and the ids of expired client assertions."""
    return oauth_clients.oauth_records_purge()


@shared_task(**PERIODIC)
def audit_chain_verify() -> bool:
    """Daily: verify the access records' chain and keep the result (`verify_audit_log`)."""
    return audit.audit_chain_verify_recorded().broken is None


@shared_task(**PERIODIC)
def heavy_readers_report() -> int:
    """Every quarter of an hour: a WARNING for each member of staff who opened more persons
    in the last hour than ACCESS_ALERT_PERSONS_PER_HOUR."""
    return len(audit.heavy_readers_report())
