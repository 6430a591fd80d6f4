"""The national side's asynchronous steps: each hop is a task that posts to the next peer."""

from __future__ import annotations

import datetime
from typing import Any

from celery import shared_task
from django.apps import apps
from django.conf import settings
from django.utils import timezone

from config.sandbox import network_headers
from primitives.http import PEER_TASK_RETRYING, PeerAnswer, peer_call
from primitives.sealed import stalled_claim

from .models import NationalInquiry, NetworkSerial, SerialNumberRequest
from .services import registry_resolve, serial_number_request_issued

RETRYING = PEER_TASK_RETRYING


def peer_url(name: str, path: str) -> str:
    return f"{settings.PEER_URLS[name].rstrip('/')}/{path}"


def peer_post(name: str, path: str, payload: dict[str, Any]) -> PeerAnswer:
    """One hop of the simulated national side, authenticated as the network."""
    return peer_call("POST", peer_url(name, path), payload, headers=network_headers())


@shared_task(**RETRYING)
def network_serial_obtain(request_id: int) -> None:
    """中間サーバー -> 情報提供ネットワークシステム (S41/S50)."""
    request = SerialNumberRequest.objects.get(pk=request_id)
    if request.processing_serial_number:
        return
    answer = peer_post(
        "network",
        "serial-numbers",
        {
            "lg_code": request.lg_code,
            "integrated_number": request.integrated_number,
            "request_key": request.idempotency_key,
        },
    )
    serial_number_request_issued(
        request_id=request.pk, processing_serial_number=answer.body["processing_serial_number"]
    )


@shared_task(**RETRYING)
def network_answer_deliver(serial_id: int) -> None:
    """情報提供ネットワークシステム -> 中間サーバー (S90-S100): the code, or the error."""
    serial = NetworkSerial.objects.get(pk=serial_id)
    if serial.delivered_at is not None:
        return
    payload = {"processing_serial_number": serial.processing_serial_number}
    payload |= {"code": serial.code} if serial.code else {"error": serial.error_reason}
    peer_post("intermediate", "codes", payload)
    NetworkSerial.objects.filter(pk=serial.pk).update(delivered_at=timezone.now())


@shared_task(**RETRYING)
def national_inquiry_answer(inquiry_id: int) -> None:
    """住基全国サーバー (S80): individual number -> resident code, answered to the network."""
    inquiry = NationalInquiry.objects.get(pk=inquiry_id)
    if inquiry.answered_at is None:
        resident_code, error = registry_resolve(inquiry.individual_number)
        NationalInquiry.objects.filter(pk=inquiry.pk).update(
            resident_code=resident_code, error_reason=error, answered_at=timezone.now()
        )
        inquiry.refresh_from_db()
    payload = {"processing_serial_number": inquiry.processing_serial_number}
    payload |= (
        {"resident_code": inquiry.resident_code}
        if inquiry.resident_code
        else {"error": inquiry.error_reason}
    )
    peer_post("network", "resident-codes", payload)
    NationalInquiry.objects.filter(pk=inquiry.pk).update(delivered_at=timezone.now())


@shared_task(**RETRYING)
def pair_forward(model_label: str, row_id: int, peer: str, path: str) -> None:
    """住基 / 住基GW -> CS (S60), CS -> 住基全国サーバー (S70): pass a stored pair on once."""
    model = apps.get_model(model_label)
    row = model._default_manager.get(pk=row_id)
    if row.forwarded_at is not None:
        return
    peer_post(
        peer,
        path,
        {
            "processing_serial_number": row.processing_serial_number,
            "individual_number": row.individual_number,
        },
    )
    model._default_manager.filter(pk=row.pk).update(forwarded_at=timezone.now())


PAIR_FORWARDS = (
    ("intermediate.GatewayEntry", "cs", "forwards"),
    ("intermediate.CommunicationForward", "national", "inquiries"),
)


@shared_task(acks_late=True)
def simulators_sweep() -> int:
    """Each simulated peer finishes what it accepted, as a real server would after a crash:
    work older than SIMULATOR_STALLED_AFTER and not done is enqueued again (every step is
    idempotent), at most once per SIMULATOR_STALLED_AFTER per row."""
    cutoff = timezone.now() - datetime.timedelta(seconds=settings.SIMULATOR_STALLED_AFTER)
    enqueued = 0
    for request_id in stalled_claim(
        SerialNumberRequest.objects.filter(
            status=SerialNumberRequest.Status.PENDING,
            processing_serial_number="",
            received_at__lt=cutoff,
        ),
        cutoff,
    ):
        network_serial_obtain.delay(request_id)
        enqueued += 1
    for serial_id in stalled_claim(
        NetworkSerial.objects.filter(answered_at__lt=cutoff, delivered_at__isnull=True), cutoff
    ):
        network_answer_deliver.delay(serial_id)
        enqueued += 1
    for inquiry_id in stalled_claim(
        NationalInquiry.objects.filter(received_at__lt=cutoff, delivered_at__isnull=True), cutoff
    ):
        national_inquiry_answer.delay(inquiry_id)
        enqueued += 1
    for label, peer, path in PAIR_FORWARDS:
        model = apps.get_model(label)
        for row_id in stalled_claim(
            model._default_manager.filter(received_at__lt=cutoff, forwarded_at__isnull=True), cutoff
        ):
            pair_forward.delay(label, row_id, peer, path)
            enqueued += 1
    return enqueued
