"""Code request services that do not need the peers: the sweep and the re-request rules."""

from __future__ import annotations

import datetime
import time
from typing import Any

import pytest
from django.utils import timezone
from kombu.exceptions import OperationalError

from linkage import guards, tasks
from linkage.models import CodeAcquisitionFile, CodeRequest, CodeRequestStage, CodeRequestStatus
from linkage.services.code_requests import (
    CodeRequestNotRetryable,
    code_acquisition_file_assemble,
    code_acquisition_file_send,
    code_request_retry,
    code_requests_serial_request,
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


def test_a_broker_down_at_commit_fails_nothing_and_the_sweep_recovers(
    jyuki: KeyedClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    django_capture_on_commit_callbacks: Any,
) -> None:
    attempts: list[tuple[Any, ...]] = []
    hangs = [0.0]  # how long the broker takes to fail

    def broker_down(*, args: tuple[Any, ...], countdown: float | None = None) -> None:
        attempts.append(args)
        time.sleep(hangs[0])
        raise OperationalError("[Errno 111] Connection refused")

    def registered() -> int:
        with django_capture_on_commit_callbacks(execute=True):
            assert post_change(jyuki, address_change_body()).status_code == 201
        return CodeRequest.objects.latest("pk").pk

    monkeypatch.setattr(tasks.code_request_advance, "apply_async", broker_down)
    first = registered()
    request = CodeRequest.objects.get()
    assert (request.status, request.stage) == ("requesting", "pending")
    assert attempts == [(first,)]
    assert "the sweep will retry it" in caplog.text
    # A broker that refuses at once is tried again by the next registration (linkage.guards)...
    second = registered()
    assert attempts == [(first,), (second,)]
    # ...one that hangs is left alone for a while: the registrations do not wait on it.
    hangs[0] = guards.SLOW_SECONDS
    third = registered()
    registered()
    assert attempts == [(first,), (second,), (third,)]

    # The sweep, every CODE_REQUEST_SWEEP_EVERY seconds, comes after the broker's back-off.
    monkeypatch.setattr(guards.broker, "left_until", 0.0)
    hangs[0] = 0.0
    CodeRequest.objects.filter(pk=first).update(
        stage_changed_at=timezone.now() - datetime.timedelta(hours=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert code_requests_sweep(stalled_after=datetime.timedelta(minutes=1)) == 1
    assert attempts[-1] == (first,)


def test_a_step_that_already_ran_sends_nothing_again(jyuki: KeyedClient, settings: Any) -> None:
    """Tasks may run twice (redelivery, the sweep): the row's stage says the step is done, so
    no second request leaves. The intermediate server's URL points at a closed port: any
    request would raise PeerUnavailable."""
    settings.PEER_URLS = {
        **settings.PEER_URLS,
        "intermediate": "http://127.0.0.1:9/sim/intermediate",
    }
    post_change(jyuki, address_change_body())
    request = CodeRequest.objects.get()
    CodeRequest.objects.update(stage=CodeRequestStage.SERIAL_REQUESTED)
    assert code_requests_serial_request(code_request_ids=[request.pk]) == 0

    file = code_acquisition_file_assemble()
    assert file is not None
    assert code_acquisition_file_assemble() is None  # nobody is left to gather
    CodeAcquisitionFile.objects.filter(pk=file.pk).update(reception_number="R1")
    assert code_acquisition_file_send(file_id=file.pk) == "R1"
    assert CodeRequest.objects.get().stage == CodeRequestStage.IN_FILE
