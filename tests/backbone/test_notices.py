"""Linkage's notices over real HTTP: signed, retried until the receiver takes them, applied
once; a forged, altered, stale or replayed notice is refused and changes nothing."""

from __future__ import annotations

import datetime
import json
import time
from io import StringIO
from typing import Any

import httpx
import pytest
from django.conf import settings
from django.test import Client

from backbone.models import BusinessSystem, ReceivedNotice
from backbone.services import receiver_control_set
from linkage.models import BackboneClient, Notice
from linkage.services.notices import NoticeAttempt, notice_body, notice_deliver, notices_sweep
from primitives.signing import signed_headers
from primitives.vocabulary import NoticeEvent
from tests.conftest import Redirecting
from tests.factories import resident

from .conftest import deliver_pending_notices, record_of, register


def two_linked_systems(clerk: Client) -> Notice:
    """住基 and 税 know one person; 住基 changes the address: one address.updated for 税."""
    from .conftest import change

    someone = resident()
    register(clerk, "01", someone)
    register(clerk, "02", someone)
    deliver_pending_notices()
    change(clerk, record_of("01", someone), address="神奈川県横浜市西区みなとみらい2丁目3番1号")
    return Notice.objects.get(event=NoticeEvent.ADDRESS_UPDATED)


def until_due(notice: Notice) -> None:
    """Wait until the notice's next attempt is due (as its retry would)."""
    from django.utils import timezone

    notice.refresh_from_db()
    time.sleep(max(0.0, (notice.next_attempt_at - timezone.now()).total_seconds()) + 0.05)


def post_notice(
    live_server: Any, number_system: str, body: bytes, headers: dict[str, str]
) -> httpx.Response:
    return httpx.post(
        f"{live_server.url}/backbone/{number_system}/notices", content=body, headers=headers
    )


def test_receiver_down_then_up_delivers_once(
    systems: dict[str, BusinessSystem], clerk: Client
) -> None:
    notice = two_linked_systems(clerk)
    receiver_control_set("tax", unavailable=True)

    assert notice_deliver(notice_id=notice.pk) == NoticeAttempt(delivered=False, retry_in=2.0)
    until_due(notice)  # each attempt when it is due: the receiver is paused until then
    assert notice_deliver(notice_id=notice.pk) == NoticeAttempt(delivered=False, retry_in=4.0)
    notice.refresh_from_db()
    assert (notice.status, notice.attempts) == (Notice.Status.PENDING, 2)
    assert notice.last_error.startswith("unavailable:") and "503" in notice.last_error
    assert notice.next_attempt_at > notice.created_at  # backing off
    assert not ReceivedNotice.objects.filter(event=NoticeEvent.ADDRESS_UPDATED).exists()

    receiver_control_set("tax", unavailable=False)
    until_due(notice)
    assert notice_deliver(notice_id=notice.pk).delivered is True
    # Delivered: nothing is sent again, and nothing is retried.
    assert notice_deliver(notice_id=notice.pk) == NoticeAttempt(delivered=False, retry_in=None)
    notice.refresh_from_db()
    assert (notice.status, notice.attempts, notice.last_error) == (Notice.Status.DELIVERED, 3, "")
    assert ReceivedNotice.objects.filter(event=NoticeEvent.ADDRESS_UPDATED).count() == 1


def test_a_hung_receiver_costs_one_timeout_per_pause_not_one_per_notice(
    systems: dict[str, BusinessSystem], clerk: Client, silent_port: int, settings: Any
) -> None:
    """税's notice endpoint takes connections and never answers. Without the pause every
    notice to it held a worker for NOTICE_TIMEOUT, and the notices to every other system
    waited behind them in the queue."""
    from django.utils import timezone

    from .conftest import change

    settings.NOTICE_TIMEOUT = 1.0
    people = [resident() for _ in range(4)]
    for someone in people:
        for number_system in ("01", "02", "03"):
            register(clerk, number_system, someone)
    deliver_pending_notices()
    tax = BackboneClient.objects.get(number_system="02")
    callback_url = tax.callback_url
    BackboneClient.objects.filter(pk=tax.pk).update(
        callback_url=f"http://127.0.0.1:{silent_port}/notices"
    )
    for n, someone in enumerate(people):
        change(
            clerk, record_of("01", someone), address=f"神奈川県横浜市西区みなとみらい{n + 1}丁目"
        )
    pending = Notice.objects.filter(status=Notice.Status.PENDING).order_by("pk")
    assert (
        sorted(pending.values_list("client__number_system", flat=True)) == ["02"] * 4 + ["03"] * 4
    )

    started = time.monotonic()
    for pk in list(pending.values_list("pk", flat=True)):  # what the worker does, in order
        notice_deliver(notice_id=pk)
    took = time.monotonic() - started

    assert took < 3, f"{took:.1f} s: a timeout for each notice to the hung system"
    to_nhi = Notice.objects.filter(client__number_system="03", event=NoticeEvent.ADDRESS_UPDATED)
    assert set(to_nhi.values_list("status", flat=True)) == {Notice.Status.DELIVERED}
    to_tax = Notice.objects.filter(client=tax, status=Notice.Status.PENDING)
    assert sorted(to_tax.values_list("attempts", flat=True)) == [0, 0, 0, 1]  # one was tried
    resumes = {notice.next_attempt_at for notice in to_tax}
    assert len(resumes) == 1 and resumes.pop() > timezone.now()

    # The system answers again: once the pause is over, its notices go out.
    BackboneClient.objects.filter(pk=tax.pk).update(callback_url=callback_url)
    until_due(to_tax[0])
    assert deliver_pending_notices() == 4


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_receiver_that_redirects_has_not_received_the_notice(
    systems: dict[str, BusinessSystem], clerk: Client, redirecting: Redirecting, status: int
) -> None:
    """税's callback URL was written http:// where its proxy serves https:// (or the endpoint
    moved): the proxy answers with a redirect. The notice did not reach 税, so it is not
    delivered, and it is not sent on to where the redirect points."""
    notice = two_linked_systems(clerk)
    tax = BackboneClient.objects.get(number_system="02")
    redirecting.status, redirecting.location = status, tax.callback_url
    BackboneClient.objects.filter(pk=tax.pk).update(callback_url=f"{redirecting.url}/notices")

    assert notice_deliver(notice_id=notice.pk) == NoticeAttempt(delivered=False, retry_in=2.0)
    notice.refresh_from_db()
    assert notice.status == Notice.Status.PENDING
    assert notice.last_error.startswith("unavailable:")
    assert f"{status} redirect, not followed" in notice.last_error
    assert redirecting.hits == 1
    assert not ReceivedNotice.objects.filter(event=NoticeEvent.ADDRESS_UPDATED).exists()

    BackboneClient.objects.filter(pk=tax.pk).update(callback_url=redirecting.location)
    until_due(notice)
    assert notice_deliver(notice_id=notice.pk).delivered is True
    assert ReceivedNotice.objects.filter(event=NoticeEvent.ADDRESS_UPDATED).count() == 1


def test_a_lost_answer_makes_a_repeat_that_the_receiver_drops(
    systems: dict[str, BusinessSystem], clerk: Client
) -> None:
    notice = two_linked_systems(clerk)
    assert notice_deliver(notice_id=notice.pk).delivered is True
    # The receiver applied it but linkage never heard: the notice is pending again.
    Notice.objects.filter(pk=notice.pk).update(status=Notice.Status.PENDING, delivered_at=None)

    # A 409 duplicate counts as delivered.
    assert notice_deliver(notice_id=notice.pk).delivered is True
    assert ReceivedNotice.objects.filter(event_id=str(notice.event_id)).count() == 1


def test_the_sweep_enqueues_overdue_notices_only(
    systems: dict[str, BusinessSystem], clerk: Client, settings: Any
) -> None:
    from django.utils import timezone

    notice = two_linked_systems(clerk)
    settings.NOTICE_STALLED_AFTER = 60
    assert notices_sweep() == 0  # due now, but its message may still be queued
    later = timezone.now() + datetime.timedelta(seconds=61)
    assert notices_sweep(now=later) == 1
    assert notices_sweep(now=later) == 0  # claimed: the next sweep leaves it
    notice.refresh_from_db()
    assert notice.next_attempt_at == later


@pytest.mark.parametrize(
    ("tamper", "status", "code"),
    [
        ("forged", 401, "bad_signature"),
        ("altered", 401, "bad_signature"),
        ("stale", 401, "stale"),
        ("unsigned", 401, "unsigned"),
        ("replayed", 409, "duplicate_event"),
    ],
)
def test_a_bad_notice_is_refused_and_changes_nothing(
    systems: dict[str, BusinessSystem],
    clerk: Client,
    live_server: Any,
    tamper: str,
    status: int,
    code: str,
) -> None:
    notice = two_linked_systems(clerk)
    tax = systems["02"]
    body = notice_body(notice)
    secret = tax.notice_secret
    if tamper == "replayed":
        assert notice_deliver(notice_id=notice.pk).delivered is True
    before_address = record_of_tax_address(notice)
    before_received = ReceivedNotice.objects.count()

    now = time.time() - (301 if tamper == "stale" else 0)
    headers = signed_headers(
        secret="not-the-secret" if tamper == "forged" else secret,
        event=notice.event,
        event_id=str(notice.event_id),
        body=body,
        now=now,
    )
    if tamper == "altered":
        document = json.loads(body)
        document["data"]["person"]["address"] = "東京都千代田区永田町1丁目7番1号"
        body = json.dumps(document, ensure_ascii=False).encode()
    if tamper == "unsigned":
        headers.pop("X-Linkage-Signature")
        headers.pop("webhook-signature")

    answer = post_notice(live_server, "02", body, headers)

    assert (answer.status_code, answer.json()["code"]) == (status, code)
    assert ReceivedNotice.objects.count() == before_received
    assert record_of_tax_address(notice) == before_address


def record_of_tax_address(notice: Notice) -> str:
    from backbone.models import IncomeRecord

    return IncomeRecord.objects.get(address_number=notice.payload["address_numbers"][0]).address


def test_a_notice_for_another_system_does_not_verify(
    systems: dict[str, BusinessSystem], clerk: Client, live_server: Any
) -> None:
    """Each system has its own secret: 税's notice sent to 国保's endpoint is refused."""
    notice = two_linked_systems(clerk)
    body = notice_body(notice)
    headers = signed_headers(
        secret=systems["02"].notice_secret,
        event=notice.event,
        event_id=str(notice.event_id),
        body=body,
    )
    answer = post_notice(live_server, "03", body, headers)
    assert (answer.status_code, answer.json()["code"]) == (401, "bad_signature")


def test_a_registration_tells_the_system_its_integrated_number_by_notice_too(
    systems: dict[str, BusinessSystem], clerk: Client
) -> None:
    """S27 answers synchronously; the notice reaches the system even if that answer was lost."""
    from backbone.models import HouseholdRecord

    someone = resident()
    register(clerk, "01", someone)
    record = record_of("01", someone)
    integrated_number = record.integrated_number
    HouseholdRecord.objects.filter(pk=record.pk).update(integrated_number="")  # answer lost

    assert deliver_pending_notices() == 1
    assert record_of("01", someone).integrated_number == integrated_number
    received = ReceivedNotice.objects.get(number_system="01")
    assert (received.event, received.address_number) == (
        NoticeEvent.INTEGRATED_NUMBER_ASSIGNED,
        record.address_number,
    )


def test_no_notice_goes_to_a_client_without_a_callback_url(jyuki: Any) -> None:
    from tests.conftest import post_change
    from tests.factories import address_change_body

    assert post_change(jyuki, address_change_body()).status_code == 201
    assert not Notice.objects.exists()


def test_attempts_back_off_doubling_up_to_the_limit(settings: Any) -> None:
    from linkage.services.notices import retry_delay

    settings.NOTICE_RETRY_MAX_SECONDS = 60
    assert [retry_delay(n) for n in range(1, 8)] == [2, 4, 8, 16, 32, 60, 60]


def test_a_revoked_clients_notices_are_kept_but_neither_sent_nor_swept(
    systems: dict[str, BusinessSystem], clerk: Client
) -> None:
    from django.utils import timezone

    from linkage.services.backbone_clients import backbone_client_revoke

    notice = two_linked_systems(clerk)
    backbone_client_revoke(client=notice.client)

    assert notice_deliver(notice_id=notice.pk).delivered is False
    assert notices_sweep(now=timezone.now() + datetime.timedelta(days=1)) == 0
    notice.refresh_from_db()
    assert (notice.status, notice.attempts) == (Notice.Status.PENDING, 0)
    assert not ReceivedNotice.objects.filter(event=NoticeEvent.ADDRESS_UPDATED).exists()


def test_a_serial_number_notice_is_refused_by_any_system_but_jyuki(
    systems: dict[str, BusinessSystem], live_server: Any
) -> None:
    """code_request.serial_issued carries an individual number: only 住基 takes it."""
    from backbone.models import SerialNumberNotice

    body = json.dumps(
        {
            "event_id": "serial-to-tax",
            "event": NoticeEvent.SERIAL_ISSUED,
            "occurred_at": "2026-11-26T00:00:00+00:00",
            "data": {
                "integrated_number": "000000000000001",
                "processing_serial_number": "S-1",
                "individual_number": resident().individual_number,
            },
        }
    ).encode()
    headers = signed_headers(
        secret=systems["02"].notice_secret,
        event=NoticeEvent.SERIAL_ISSUED,
        event_id="serial-to-tax",
        body=body,
    )

    answer = post_notice(live_server, "02", body, headers)

    assert (answer.status_code, answer.json()["code"]) == (400, "unknown_event")
    assert not ReceivedNotice.objects.exists()
    assert not SerialNumberNotice.objects.exists()


@pytest.mark.django_db
def test_business_system_control_switches_a_receivers_faults() -> None:
    from io import StringIO

    from django.core.management import call_command

    from backbone.models import ReceiverControl

    out = StringIO()
    call_command("business_system_control", "tax", "--unavailable", "on", stdout=out)
    assert "tax: unavailable=True" in out.getvalue()
    assert ReceiverControl.objects.get(name="tax").unavailable
    call_command("business_system_control", "tax", "--unavailable", "off", stdout=StringIO())
    assert not ReceiverControl.objects.get(name="tax").unavailable


def test_the_delivery_task_schedules_the_next_attempt_itself(
    systems: dict[str, BusinessSystem], clerk: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service records the failed attempt and says when to try again; the task retries
    (Celery's own retry, without a limit: a notice is sent until the receiver has it)."""
    from celery.exceptions import Retry

    from linkage import tasks

    notice = two_linked_systems(clerk)
    receiver_control_set("tax", unavailable=True)
    retries: list[dict[str, Any]] = []

    def retry(**options: Any) -> Retry:
        retries.append(options)
        return Retry()

    monkeypatch.setattr(tasks.notice_deliver, "retry", retry)
    with pytest.raises(Retry):
        tasks.notice_deliver.run(notice.pk)
    assert retries == [{"countdown": 2.0, "max_retries": None}]

    receiver_control_set("tax", unavailable=False)
    until_due(notice)
    assert tasks.notice_deliver.run(notice.pk) is True
    assert len(retries) == 1


def test_a_wait_longer_than_a_message_may_be_held_is_left_to_the_sweep(
    systems: dict[str, BusinessSystem], clerk: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A retry is a message the worker holds unacknowledged until it is due: RabbitMQ closes
    the channel of one held past its consumer_timeout (30 minutes) and the worker dies. A
    notice whose next attempt is further off than COUNTDOWN_MAX_SECONDS is sent again by the
    sweep once due."""
    from django.utils import timezone

    from linkage import tasks

    notice = two_linked_systems(clerk)
    receiver_control_set("tax", unavailable=True)
    Notice.objects.filter(pk=notice.pk).update(attempts=12)  # the next wait: 2**13 s, capped
    monkeypatch.setattr(tasks.notice_deliver, "retry", pytest.fail)

    assert tasks.notice_deliver.run(notice.pk) is False  # recorded, and no retry message

    notice.refresh_from_db()
    wait = (notice.next_attempt_at - timezone.now()).total_seconds()
    assert tasks.COUNTDOWN_MAX_SECONDS < wait <= settings.NOTICE_RETRY_MAX_SECONDS
    assert notices_sweep(now=notice.next_attempt_at) == 0  # not before it is due
    due = notice.next_attempt_at + datetime.timedelta(seconds=settings.NOTICE_STALLED_AFTER)
    assert notices_sweep(now=due) == 1


@pytest.mark.django_db
def test_a_peers_long_retry_after_is_held_no_longer_than_a_message_may_be(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from celery.exceptions import Retry

    from linkage import tasks
    from linkage.clients.intermediate import FileNotReady

    def not_ready(*, file_id: int) -> None:
        raise FileNotReady(3600.0)

    retries: list[dict[str, Any]] = []

    def retry(**options: Any) -> Retry:
        retries.append(options)
        return Retry()

    monkeypatch.setattr(tasks.code_requests, "code_acquisition_file_distribute", not_ready)
    monkeypatch.setattr(tasks.code_acquisition_file_distribute, "retry", retry)
    with pytest.raises(Retry):
        tasks.code_acquisition_file_distribute.run(1)  # no such file: the usual limit
    assert retries == [{"countdown": tasks.COUNTDOWN_MAX_SECONDS, "max_retries": None}]


@pytest.mark.django_db
def test_waiting_for_a_file_spends_no_retry_while_the_sweep_leaves_it_alone(
    monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    """An outage can spend a distribution's retries; the wait for the file after it must not
    then give up within seconds. A young file is waited for beyond the limit; once the sweep
    would take its rows up, the usual limit holds."""
    from celery.exceptions import Retry

    from linkage import tasks
    from linkage.clients.intermediate import FileNotReady
    from linkage.models import CodeAcquisitionFile

    def not_ready(*, file_id: int) -> None:
        raise FileNotReady(1.0)

    limits: list[Any] = []

    def retry(**options: Any) -> Retry:
        limits.append(options["max_retries"])
        return Retry()

    monkeypatch.setattr(tasks.code_requests, "code_acquisition_file_distribute", not_ready)
    monkeypatch.setattr(tasks.code_acquisition_file_distribute, "retry", retry)
    file = CodeAcquisitionFile.objects.create(reception_number="R-1")
    task = tasks.code_acquisition_file_distribute
    task.push_request(retries=30)  # every retry spent meanwhile
    try:
        with pytest.raises(Retry):
            task.run(file.pk)
        settings.CODE_REQUEST_STALLED_AFTER = 0  # the sweep's turn
        with pytest.raises(Retry):
            task.run(file.pk)
    finally:
        task.pop_request()
    assert limits == [31, None]


def test_delivered_notices_are_pruned_after_the_keep_days_and_pending_ones_never(
    systems: dict[str, BusinessSystem], clerk: Client, settings: Any
) -> None:
    from django.core.management import call_command
    from django.utils import timezone

    from linkage.services.notices import notices_prune

    settings.NOTICE_KEEP_DAYS = 90
    pending = two_linked_systems(clerk)  # the registrations' notices are delivered
    delivered = list(Notice.objects.filter(status=Notice.Status.DELIVERED).order_by("pk"))
    assert len(delivered) >= 2
    long_ago = timezone.now() - datetime.timedelta(days=91)
    Notice.objects.filter(pk=delivered[0].pk).update(delivered_at=long_ago)
    Notice.objects.filter(pk=pending.pk).update(created_at=long_ago, next_attempt_at=long_ago)

    assert notices_prune(batch=1) == 1
    assert set(Notice.objects.values_list("pk", flat=True)) == {
        pending.pk,
        *(notice.pk for notice in delivered[1:]),
    }
    # Ninety-one days later the others go too, a batch at a time; the pending one never does.
    later = timezone.now() + datetime.timedelta(days=91)
    assert notices_prune(now=later, batch=1) == len(delivered) - 1
    assert list(Notice.objects.values_list("pk", flat=True)) == [pending.pk]
    out = StringIO()
    call_command("prune_notices", stdout=out)
    assert out.getvalue() == "Deleted 0 notices delivered more than 90 days ago.\n"
