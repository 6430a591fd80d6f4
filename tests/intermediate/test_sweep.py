"""The simulators' sweep enqueues stalled work again, but once per window: under a backlog
it must not flood the broker with duplicates."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from intermediate.models import GatewayEntry, SerialNumberRequest
from intermediate.services import encrypted
from intermediate.tasks import simulators_sweep

pytestmark = pytest.mark.django_db


def test_stalled_rows_are_enqueued_once_per_window(settings) -> None:
    settings.SIMULATOR_STALLED_AFTER = 60
    long_ago = timezone.now() - datetime.timedelta(minutes=5)
    request = SerialNumberRequest.objects.create(
        lg_code="141003",
        integrated_number="000000000000019",
        idempotency_key="k-1",
        **encrypted("983205673214"),
    )
    entry = GatewayEntry.objects.create(processing_serial_number="P1", **encrypted("983205673214"))
    fresh = GatewayEntry.objects.create(processing_serial_number="P2", **encrypted("983205673214"))
    SerialNumberRequest.objects.filter(pk=request.pk).update(received_at=long_ago)
    GatewayEntry.objects.filter(pk=entry.pk).update(received_at=long_ago)

    assert simulators_sweep() == 2
    assert simulators_sweep() == 0  # claimed: not again within the window
    fresh.refresh_from_db()
    assert fresh.swept_at is None  # recent work is left to its own task

    SerialNumberRequest.objects.filter(pk=request.pk).update(swept_at=long_ago)
    assert simulators_sweep() == 1  # the window passed and it is still not done
