"""住基's own asynchronous step (S34/S60, first embodiment): a processing serial number
received from linkage is passed on to the communication server over HTTP, once, and a sweep
finishes what a crash left undone."""

from __future__ import annotations

import datetime

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from config.sandbox import network_headers
from primitives.http import PEER_TASK_RETRYING, peer_call
from primitives.sealed import stalled_claim

from .models import SerialNumberNotice


@shared_task(**PEER_TASK_RETRYING)
def serial_number_forward(notice_id: int) -> None:
    """住基 -> CS (S60): the pair, as the CS takes it from every sender."""
    notice = SerialNumberNotice.objects.get(pk=notice_id)
    if notice.forwarded_at is not None:
        return
    peer_call(
        "POST",
        f"{settings.PEER_URLS['cs'].rstrip('/')}/forwards",
        {
            "processing_serial_number": notice.processing_serial_number,
            "individual_number": notice.individual_number,
        },
        headers=network_headers(),
    )
    SerialNumberNotice.objects.filter(pk=notice.pk).update(forwarded_at=timezone.now())


@shared_task(acks_late=True)
def business_systems_sweep() -> int:
    """Pairs older than SIMULATOR_STALLED_AFTER and not passed on are enqueued again, at most
    once per SIMULATOR_STALLED_AFTER each."""
    cutoff = timezone.now() - datetime.timedelta(seconds=settings.SIMULATOR_STALLED_AFTER)
    ids = stalled_claim(
        SerialNumberNotice.objects.filter(received_at__lt=cutoff, forwarded_at__isnull=True),
        cutoff,
    )
    for notice_id in ids:
        serial_number_forward.delay(notice_id)
    return len(ids)
