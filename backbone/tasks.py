"""住基's own asynchronous step (S34/S60, first embodiment): the processing serial numbers
received from linkage are passed on to the communication server over HTTP, once each, in
batches, and a sweep finishes what a crash left undone."""

from __future__ import annotations

import contextlib
import datetime

from celery import shared_task
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from config.sandbox import network_headers
from primitives.http import PEER_TASK_RETRYING, peer_batch_post
from primitives.sealed import stalled_claim

from .models import SerialNumberNotice

# Seconds a forward waits after a notice, gathering the notices that arrive meanwhile.
FORWARD_WINDOW = 0.3


@shared_task(**PEER_TASK_RETRYING)
def serial_numbers_forward() -> None:
    """住基 -> CS (S60): every pair received and not yet passed on, as one batch (up to
    SIMULATOR_BATCH): the first task after a burst of notices carries the burst, the
    others find nothing left. Where the database can (PostgreSQL) the rows stay locked while
    they are sent, SKIP LOCKED, so two workers do not send one pair together; SQLite's write
    lock must not be held across a request, and there a pair sent twice at once is stored
    once by the CS."""
    locking = connection.features.has_select_for_update_skip_locked
    with transaction.atomic() if locking else contextlib.nullcontext():
        unforwarded = SerialNumberNotice.objects.filter(forwarded_at__isnull=True)
        if locking:
            unforwarded = unforwarded.select_for_update(skip_locked=True)
        notices = list(unforwarded.order_by("pk")[: settings.SIMULATOR_BATCH])
        if not notices:
            return
        taken = peer_batch_post(
            f"{settings.PEER_URLS['cs'].rstrip('/')}/forwards",
            "entries",
            notices,
            lambda notice: {
                "processing_serial_number": notice.processing_serial_number,
                "individual_number": notice.individual_number,
            },
            headers=network_headers(),
        )
        SerialNumberNotice.objects.filter(pk__in=[notice.pk for notice, _ in taken]).update(
            forwarded_at=timezone.now()
        )


def serial_numbers_forward_soon() -> None:
    """After a notice commits: a forward shortly, so the notices of one file go together."""
    serial_numbers_forward.apply_async(countdown=FORWARD_WINDOW)


@shared_task(acks_late=True)
def business_systems_sweep() -> int:
    """Pairs older than SIMULATOR_STALLED_AFTER and not passed on are enqueued again, at most
    once per SIMULATOR_STALLED_AFTER each, one message per SIMULATOR_BATCH of them."""
    cutoff = timezone.now() - datetime.timedelta(seconds=settings.SIMULATOR_STALLED_AFTER)
    ids = stalled_claim(
        SerialNumberNotice.objects.filter(received_at__lt=cutoff, forwarded_at__isnull=True),
        cutoff,
    )
    for _ in range(0, len(ids), settings.SIMULATOR_BATCH):
        serial_numbers_forward.delay()
    return len(ids)
