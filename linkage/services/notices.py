"""Notices to business systems (SPEC 7, outbound; seed S27, S120 and S34).

A notice is a row written in the transaction of its cause (an address change, a clerk's
correction, a processing serial number received), so a cause that commits always has its
notices and one that rolls back has none. `notice_deliver` posts it, signed, to the system's
callback URL until the system accepts it; a failure only schedules the next attempt. A
receiver that already has the event id answers 409, which counts as delivered: each notice is
applied once however often it is sent.

A receiver that fails as a whole (down, hung, answering 5xx) is paused: for as long as its
next attempt is off, its other notices wait without being sent, so one hung system costs
one NOTICE_TIMEOUT per pause, not one per notice, and the workers stay free for the other
systems' notices (the pause lives in the shared cache; without one, in each process).
"""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from primitives.vocabulary import NoticeEvent

from ..clients.notices import UNAVAILABLE, notice_send
from ..events import notices_due
from ..guards import shared_cache
from ..models import AddressVersion, BackboneClient, CrossReference, Notice, Person
from .backbone_clients import receivers_by_number_system

logger = logging.getLogger(__name__)


def receivers(number_system: str) -> list[BackboneClient]:
    return receivers_by_number_system([number_system])[number_system]


def _create(
    event: str, person: Person, receivers: Iterable[BackboneClient], data: dict[str, Any]
) -> list[Notice]:
    notices = [
        Notice.objects.create(event=event, client=client, person=person, payload=data)
        for client in receivers
    ]
    if notices:
        notices_due.send(sender=Notice, notice_ids=[notice.pk for notice in notices])
    return notices


class HasBasicItems(Protocol):
    """A version, or anything carrying a version's basic items (the bulk import's rows)."""

    @property
    def name(self) -> str: ...
    @property
    def name_kana(self) -> str: ...
    @property
    def birth_date(self) -> datetime.date: ...
    @property
    def sex(self) -> str: ...
    @property
    def address(self) -> str: ...


def person_items(version: HasBasicItems) -> dict[str, str]:
    return {
        "name": version.name,
        "name_kana": version.name_kana,
        "birth_date": version.birth_date.isoformat(),
        "sex": version.sex,
        "address": version.address,
    }


def link_data(person: Person, number_system: str, address_number: str) -> dict[str, Any]:
    return {
        "integrated_number": person.integrated_number,
        "number_system": number_system,
        "address_number": address_number,
    }


def update_data(
    person: Person, version: AddressVersion, number_system: str, address_numbers: list[str]
) -> dict[str, Any]:
    return {
        "integrated_number": person.integrated_number,
        "number_system": number_system,
        "address_numbers": address_numbers,
        "history_seq": version.history_seq,
        "source": version.source,
        "source_number_system": version.number_system,
        "reason": version.reason,
        "person": person_items(version),
    }


def notices_for_link(*, person: Person, number_system: str, address_number: str) -> list[Notice]:
    """integrated_number.assigned: an address number of `number_system` is now linked to the
    person (a new person, or a system new to a known one). The synchronous answer (S27)
    carries the same; the notice reaches the system even if that answer was lost."""
    return _create(
        NoticeEvent.INTEGRATED_NUMBER_ASSIGNED,
        person,
        receivers(number_system),
        link_data(person, number_system, address_number),
    )


def notices_for_update(
    *, person: Person, version: AddressVersion, previous: AddressVersion | None
) -> list[Notice]:
    """address.updated (S120): the person's basic items changed; every linked system hears of
    it except the one that sent the change. Nothing is sent when the items did not change."""
    linked: dict[str, list[str]] = {}
    if basic_items_changed(previous, version):
        for number_system, address_number in (
            CrossReference.objects.filter(person=person)
            .order_by("number_system", "address_number")
            .values_list("number_system", "address_number")
        ):
            linked.setdefault(number_system, []).append(address_number)
    targets = update_targets(version=version, previous=previous, linked=linked)
    clients = receivers_by_number_system(ns for ns, _ in targets)
    notices: list[Notice] = []
    for number_system, address_numbers in targets:
        notices += _create(
            NoticeEvent.ADDRESS_UPDATED,
            person,
            clients[number_system],
            update_data(person, version, number_system, address_numbers),
        )
    return notices


def basic_items_changed(previous: HasBasicItems | None, version: HasBasicItems) -> bool:
    """False for a new person (nothing to compare with) or a version equal to the last."""
    return previous is not None and person_items(previous) != person_items(version)


def update_targets(
    *, version: AddressVersion, previous: HasBasicItems | None, linked: dict[str, list[str]]
) -> list[tuple[str, list[str]]]:
    """Who hears of a new version (S120), with their address numbers of the person: nobody for
    a new person or unchanged basic items; every linked system but the sender otherwise (all
    of them after a correction)."""
    if not basic_items_changed(previous, version):
        return []
    return [
        (number_system, address_numbers)
        for number_system, address_numbers in sorted(linked.items())
        if not (
            version.source == AddressVersion.Source.ADDRESS_CHANGE
            and number_system == version.number_system
        )
    ]


def notice_serial_issued(*, person: Person, processing_serial_number: str) -> list[Notice]:
    """code_request.serial_issued (S34, first embodiment): to the 住基 system, which passes
    it to the communication server. The individual number is added when it is sent."""
    return _create(
        NoticeEvent.SERIAL_ISSUED,
        person,
        receivers(settings.RESIDENT_REGISTER_NUMBER_SYSTEM),
        {
            "integrated_number": person.integrated_number,
            "processing_serial_number": processing_serial_number,
        },
    )


def notice_body(notice: Notice) -> bytes:
    data = dict(notice.payload)
    if notice.event == NoticeEvent.SERIAL_ISSUED:
        data["individual_number"] = notice.person.individual_number
    document = {
        "event_id": str(notice.event_id),
        "event": notice.event,
        "occurred_at": notice.created_at.isoformat(),
        "data": data,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def retry_delay(attempts: int) -> float:
    return float(min(2**attempts, settings.NOTICE_RETRY_MAX_SECONDS))


@dataclass(frozen=True)
class NoticeAttempt:
    """What one delivery attempt came to: `delivered`, or the seconds until the next attempt
    (`retry_in`; None when there is nothing to send: delivered already, or the client
    revoked). The task schedules the retry."""

    delivered: bool
    retry_in: float | None = None


def notice_deliver(*, notice_id: int) -> NoticeAttempt:
    """Send one pending notice. On failure the attempt and its reason are recorded, with the
    time of the next attempt. While its receiver is paused it is not sent: it waits for the
    pause's end (no attempt is counted)."""
    notice = (
        Notice.objects.deliverable().select_related("client", "person").filter(pk=notice_id).first()
    )
    if notice is None:
        return NoticeAttempt(delivered=False)  # delivered already, or its client revoked
    pause = _pause_of(notice.client_id)
    if pause is not None and (waiting := (pause.until - timezone.now()).total_seconds()) > 0:
        Notice.objects.filter(pk=notice.pk, status=Notice.Status.PENDING).update(
            next_attempt_at=pause.until
        )
        return NoticeAttempt(delivered=False, retry_in=waiting)
    error = notice_send(
        url=notice.client.callback_url,
        secret=notice.client.notice_secret,
        event=notice.event,
        event_id=str(notice.event_id),
        body=notice_body(notice),
    )
    now = timezone.now()
    if not error:
        Notice.objects.filter(pk=notice.pk, status=Notice.Status.PENDING).update(
            status=Notice.Status.DELIVERED,
            delivered_at=now,
            attempts=F("attempts") + 1,
            last_error="",
        )
        if pause is not None:
            _pause_end(notice.client_id)
        return NoticeAttempt(delivered=True)
    if error.startswith(UNAVAILABLE):
        _pause(notice.client_id, pause, now)
    delay = retry_delay(notice.attempts + 1)
    Notice.objects.filter(pk=notice.pk, status=Notice.Status.PENDING).update(
        attempts=F("attempts") + 1,
        last_error=error[:300],
        next_attempt_at=now + datetime.timedelta(seconds=delay),
    )
    logger.warning(
        "notice %s to client #%s not delivered (%s); next attempt in %.0f s",
        notice.event_id,
        notice.client_id,
        error,
        delay,
    )
    return NoticeAttempt(delivered=False, retry_in=delay)


@dataclass(frozen=True)
class ReceiverPause:
    """A receiver's notices wait until `until`; `failures` in a row so far."""

    until: datetime.datetime
    failures: int


def _pause_key(client_id: int) -> str:
    return f"notices:receiver-paused:{client_id}"


def _pause_of(client_id: int) -> ReceiverPause | None:
    found = shared_cache.call(lambda: cache.get(_pause_key(client_id)), fallback=None)
    return found if isinstance(found, ReceiverPause) else None


def _pause(client_id: int, pause: ReceiverPause | None, now: datetime.datetime) -> None:
    """The receiver failed again: pause it, twice as long each time in a row (2, 4, 8, …
    seconds, at most NOTICE_RETRY_MAX_SECONDS)."""
    failures = (pause.failures if pause is not None else 0) + 1
    until = now + datetime.timedelta(seconds=retry_delay(failures))
    kept = ReceiverPause(until=until, failures=failures)
    # Kept past its end: the next failure in a row pauses it longer.
    seconds = 2 * settings.NOTICE_RETRY_MAX_SECONDS
    shared_cache.call(lambda: cache.set(_pause_key(client_id), kept, seconds), fallback=None)
    logger.warning(
        "notices to client #%s paused for %.0f s: it failed %d times in a row",
        client_id,
        (until - now).total_seconds(),
        failures,
    )


def _pause_end(client_id: int) -> None:
    shared_cache.call(lambda: cache.delete(_pause_key(client_id)), fallback=0)


PRUNE_BATCH = 5000


def notices_prune(*, now: datetime.datetime | None = None, batch: int = PRUNE_BATCH) -> int:
    """Delete the notices delivered more than NOTICE_KEEP_DAYS ago, `batch` at a time, each
    batch its own short statement, so the notices being written meanwhile never wait long.
    A notice still to be sent, or kept for a revoked client, stays. How many went."""
    cutoff = (now or timezone.now()) - datetime.timedelta(days=settings.NOTICE_KEEP_DAYS)
    old = Notice.objects.filter(status=Notice.Status.DELIVERED, delivered_at__lt=cutoff)
    pruned = 0
    while ids := list(old.order_by("delivered_at").values_list("pk", flat=True)[:batch]):
        pruned += Notice.objects.filter(pk__in=ids).delete()[0]
    if pruned:
        logger.info("pruned %d notices delivered before %s", pruned, cutoff.date())
    return pruned


def notices_sweep(*, now: datetime.datetime | None = None) -> int:
    """Re-enqueue pending notices overdue by NOTICE_STALLED_AFTER (their message was lost)."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(seconds=settings.NOTICE_STALLED_AFTER)
    ids = list(
        Notice.objects.deliverable()
        .filter(next_attempt_at__lte=cutoff)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:1000]
    )
    with transaction.atomic():
        # Claim them: a second sweep meanwhile finds them not yet due.
        Notice.objects.filter(pk__in=ids, status=Notice.Status.PENDING).update(next_attempt_at=now)
        if ids:
            notices_due.send(sender=Notice, notice_ids=ids)
    return len(ids)
