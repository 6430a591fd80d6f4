"""Code request services that do not need the peers: the sweep and the re-request rules."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from linkage.models import CodeRequest, CodeRequestStage, CodeRequestStatus
from linkage.services.code_requests import (
    CodeRequestNotRetryable,
    code_request_retry,
    code_requests_sweep,
)
from tests.conftest import post_change
from tests.factories import KeyedClient, address_change_body

pytestmark = pytest.mark.django_db


def test_the_sweep_claims_a_stalled_row_once(jyuki: KeyedClient) -> None:
    post_change(jyuki, address_change_body())
    post_change(jyuki, address_change_body())
    old = timezone.now() - datetime.timedelta(hours=1)
    CodeRequest.objects.update(stage_changed_at=old)
    first = CodeRequest.objects.order_by("pk")[0]
    CodeRequest.objects.filter(pk=first.pk).update(stage=CodeRequestStage.SENT)

    assert code_requests_sweep(stalled_after=datetime.timedelta(minutes=1)) == 1  # not `sent`
    assert code_requests_sweep(stalled_after=datetime.timedelta(minutes=1)) == 0


def test_only_an_errored_request_can_be_sent_again(jyuki: KeyedClient) -> None:
    post_change(jyuki, address_change_body())
    request = CodeRequest.objects.get()
    with pytest.raises(CodeRequestNotRetryable):
        code_request_retry(code_request=request, cause="test")

    CodeRequest.objects.update(
        status=CodeRequestStatus.ERROR, stage=CodeRequestStage.SENT, processing_serial_number="P9"
    )
    retried = code_request_retry(code_request=request, cause="clerk re-request")
    assert (retried.status, retried.stage, retried.generation) == ("requesting", "pending", 2)
    assert retried.processing_serial_number == ""
    assert retried.transitions.order_by("pk").reverse()[0].cause == "clerk re-request"
