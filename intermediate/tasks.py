"""The national side's asynchronous steps: each hop is a task that posts a batch of rows to the
next peer (a request carries every row the previous hop passed on together)."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from config.sandbox import network_headers
from primitives.http import PEER_TASK_RETRYING, peer_batch_post
from primitives.sealed import ForwardedPair, stalled_claim

from .models import (
    CommunicationForward,
    GatewayEntry,
    NationalInquiry,
    NetworkSerial,
    SerialNumberRequest,
)
from .services import registry_resolve, serial_numbers_issued

logger = logging.getLogger(__name__)
RowT = TypeVar("RowT")

RETRYING = PEER_TASK_RETRYING


def peer_url(name: str, path: str) -> str:
    return f"{settings.PEER_URLS[name].rstrip('/')}/{path}"


def batch_post(
    name: str, path: str, key: str, rows: Sequence[RowT], item_of: Callable[[RowT], dict[str, Any]]
) -> list[tuple[RowT, dict[str, Any]]]:
    """One hop's batch to the next peer, authenticated as the network."""
    return peer_batch_post(peer_url(name, path), key, rows, item_of, headers=network_headers())


@shared_task(**RETRYING)
def network_serials_obtain(request_ids: list[int]) -> None:
    """中間サーバー -> 情報提供ネットワークシステム (S41/S50), one batch of requests."""
    requests = list(
        SerialNumberRequest.objects.filter(
            pk__in=request_ids, processing_serial_number=""
        ).order_by("pk")
    )
    if not requests:
        return
    taken = batch_post(
        "network",
        "serial-numbers",
        "requests",
        requests,
        lambda request: {
            "lg_code": request.lg_code,
            "integrated_number": request.integrated_number,
            "request_key": request.idempotency_key,
        },
    )
    serial_numbers_issued(
        {request.pk: result["processing_serial_number"] for request, result in taken}
    )


@shared_task(**RETRYING)
def network_answers_deliver(serial_ids: list[int]) -> None:
    """情報提供ネットワークシステム -> 中間サーバー (S90-S100): the codes, or the errors."""
    serials = list(
        NetworkSerial.objects.filter(pk__in=serial_ids, delivered_at__isnull=True)
        .exclude(answered_at=None)
        .order_by("pk")
    )
    if not serials:
        return
    taken = batch_post(
        "intermediate",
        "codes",
        "codes",
        serials,
        lambda serial: (
            {"processing_serial_number": serial.processing_serial_number}
            | ({"code": serial.code} if serial.code else {"error": serial.error_reason})
        ),
    )
    NetworkSerial.objects.filter(pk__in=[serial.pk for serial, _ in taken]).update(
        delivered_at=timezone.now()
    )


@shared_task(**RETRYING)
def national_inquiries_answer(inquiry_ids: list[int]) -> None:
    """住基全国サーバー (S80): individual numbers -> resident codes, answered to the network."""
    inquiries = list(
        NationalInquiry.objects.filter(pk__in=inquiry_ids, delivered_at__isnull=True).order_by("pk")
    )
    now = timezone.now()
    unanswered = [inquiry for inquiry in inquiries if inquiry.answered_at is None]
    for inquiry in unanswered:
        inquiry.resident_code, inquiry.error_reason = registry_resolve(inquiry.individual_number)
        inquiry.answered_at = now
    NationalInquiry.objects.bulk_update(
        unanswered, ["resident_code", "error_reason", "answered_at"]
    )
    if not inquiries:
        return
    taken = batch_post(
        "network",
        "resident-codes",
        "answers",
        inquiries,
        lambda inquiry: (
            {"processing_serial_number": inquiry.processing_serial_number}
            | (
                {"resident_code": inquiry.resident_code}
                if inquiry.resident_code
                else {"error": inquiry.error_reason}
            )
        ),
    )
    NationalInquiry.objects.filter(pk__in=[inquiry.pk for inquiry, _ in taken]).update(
        delivered_at=timezone.now()
    )


def pairs_forward(model: type[ForwardedPair], row_ids: list[int], peer: str, path: str) -> None:
    """住基GW -> CS (S60), CS -> 住基全国サーバー (S70): pass stored pairs on once, as a batch."""
    rows = list(
        model._default_manager.filter(pk__in=row_ids, forwarded_at__isnull=True).order_by("pk")
    )
    if not rows:
        return
    taken = batch_post(
        peer,
        path,
        "entries",
        rows,
        lambda row: {
            "processing_serial_number": row.processing_serial_number,
            "individual_number": row.individual_number,
        },
    )
    model._default_manager.filter(pk__in=[row.pk for row, _ in taken]).update(
        forwarded_at=timezone.now()
    )


@shared_task(**RETRYING)
def gateway_pairs_forward(row_ids: list[int]) -> None:
    pairs_forward(GatewayEntry, row_ids, "cs", "forwards")


@shared_task(**RETRYING)
def cs_pairs_forward(row_ids: list[int]) -> None:
    pairs_forward(CommunicationForward, row_ids, "national", "inquiries")


def in_batches(task: Any, ids: list[int]) -> tuple[int, int]:
    """Enqueue `task` for `ids`, SIMULATOR_BATCH rows per message: (rows, messages)."""
    size = settings.SIMULATOR_BATCH
    starts = range(0, len(ids), size)
    for start in starts:
        task.delay(ids[start : start + size])
    return len(ids), len(starts)


@shared_task(acks_late=True)
def simulators_sweep() -> int:
    """Each simulated peer finishes what it accepted, as a real server would after a crash:
    work older than SIMULATOR_STALLED_AFTER and not done is enqueued again (every step is
    idempotent), at most once per SIMULATOR_STALLED_AFTER per row, SIMULATOR_BATCH rows a
    message. Returns how many rows."""
    cutoff = timezone.now() - datetime.timedelta(seconds=settings.SIMULATOR_STALLED_AFTER)
    stalled = (
        (
            network_serials_obtain,
            SerialNumberRequest.objects.filter(
                status=SerialNumberRequest.Status.PENDING,
                processing_serial_number="",
                received_at__lt=cutoff,
            ),
        ),
        (
            network_answers_deliver,
            NetworkSerial.objects.filter(answered_at__lt=cutoff, delivered_at__isnull=True),
        ),
        (
            national_inquiries_answer,
            NationalInquiry.objects.filter(received_at__lt=cutoff, delivered_at__isnull=True),
        ),
        (
            gateway_pairs_forward,
            GatewayEntry.objects.filter(received_at__lt=cutoff, forwarded_at__isnull=True),
        ),
        (
            cs_pairs_forward,
            CommunicationForward.objects.filter(received_at__lt=cutoff, forwarded_at__isnull=True),
        ),
    )
    enqueued = [in_batches(task, stalled_claim(rows, cutoff)) for task, rows in stalled]
    rows, messages = (sum(counts) for counts in zip(*enqueued, strict=True))
    if rows:
        logger.info("simulators' sweep re-enqueued %d rows in %d messages", rows, messages)
    return rows
