"""住基's own sweep passes on a processing serial number a crash left behind, once per
window, as the national peers' sweep does (it is no longer theirs to do)."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from backbone.models import SerialNumberNotice
from backbone.tasks import business_systems_sweep
from config.sandbox import simulator_index_key
from intermediate.tasks import simulators_sweep
from primitives.sealed import sealed

pytestmark = pytest.mark.django_db


def test_a_stalled_serial_number_is_enqueued_again_once_per_window(settings) -> None:
    settings.SIMULATOR_STALLED_AFTER = 60
    long_ago = timezone.now() - datetime.timedelta(minutes=5)
    numbers = sealed("983205673214", index_key=simulator_index_key())
    stalled = SerialNumberNotice.objects.create(processing_serial_number="P1", **numbers)
    SerialNumberNotice.objects.create(processing_serial_number="P2", **numbers)  # recent
    done = SerialNumberNotice.objects.create(
        processing_serial_number="P3", forwarded_at=timezone.now(), **numbers
    )
    SerialNumberNotice.objects.filter(pk__in=[stalled.pk, done.pk]).update(received_at=long_ago)

    assert simulators_sweep() == 0  # the national side does not reach into 住基's table
    assert business_systems_sweep() == 1
    assert business_systems_sweep() == 0  # claimed: not again within the window
    SerialNumberNotice.objects.filter(pk=stalled.pk).update(swept_at=long_ago)
    assert business_systems_sweep() == 1
