"""情報照会 (SPEC 11): a business system asks another institution for a resident's data
instead of asking the resident for paper certificates.

The business system names the person by its own address number; linkage relays the inquiry
to the intermediate server by integrated number (the network turns it into the provider's
code) and keeps the answer for the asking system, which hears of it by the `inquiry.answered`
notice. An inquiry about a person whose code is not yet acquired waits (`waiting_for_code`)
and goes out by itself when the confirmation unit finds the code. The intermediate server
keeps each inquiry by its id and asks the network once, so an inquiry sent again after a lost
answer, a killed worker or a redelivered message is answered from what it kept.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from primitives.vocabulary import NoticeEvent

from ..clients.intermediate import InquiryMessage, exchange_records_read, inquiries_send
from ..events import inquiries_due, notices_due
from ..models import BackboneClient, Inquiry, Notice, Person
from .exchanges import (
    ExchangeRefused,
    body_digest,
    code_acquired,
    configured,
    event_id_reused,
    exchange_person,
    integrated_number_of,
    stalled_resend,
    waiting_release,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class InquiryContent:
    """What a business system asks (`POST /api/v1/inquiries`)."""

    event_id: str
    number_system: str
    address_number: str
    procedure: str
    data_set: str
    provider: str


@dataclass(frozen=True)
class InquiryResult:
    inquiry: Inquiry
    created: bool = True


def inquiry_make(*, client: BackboneClient, content: InquiryContent) -> InquiryResult:
    """A new inquiry, or the one this event id made before (created False); the same event
    id with another body is refused (409)."""
    digest = body_digest(content.__dict__)
    earlier = Inquiry.objects.filter(
        number_system=content.number_system, event_id=content.event_id
    ).first()
    if earlier is not None:
        if earlier.body_digest != digest:
            raise event_id_reused()
        return InquiryResult(earlier, created=False)
    procedure = configured(
        "procedure", content.procedure, settings.EXCHANGE_PROCEDURES, field="procedure"
    )
    if client.number_system not in procedure["asked_by"]:
        raise ExchangeRefused(
            403,
            "procedure",
            "procedure_not_allowed",
            f"number system {client.number_system} does not do {content.procedure}",
        )
    if content.provider == settings.LG_CODE:
        raise ExchangeRefused(
            400,
            "provider",
            "own_institution",
            "an inquiry goes to another institution; this municipality's own data is read "
            "from its own systems",
        )
    person = exchange_person(
        number_system=content.number_system,
        address_number=content.address_number,
        what="inquiries",
    )
    try:
        with transaction.atomic():
            inquiry = Inquiry.objects.create(
                client=client,
                number_system=content.number_system,
                event_id=content.event_id,
                body_digest=digest,
                person=person,
                address_number=content.address_number,
                procedure=content.procedure,
                data_set=content.data_set,
                provider=content.provider,
                status=Inquiry.Status.SENT
                if code_acquired(person)
                else Inquiry.Status.WAITING_FOR_CODE,
            )
            if inquiry.status == Inquiry.Status.SENT:
                _inquiries_due([inquiry.pk])
    except IntegrityError:
        # The same event at the same moment: answered as the repeat it is.
        return inquiry_make(client=client, content=content)
    return InquiryResult(inquiry)


def inquiries_release(*, person_ids: Sequence[int]) -> int:
    """The inquiries that waited for these persons' codes go out now."""
    return waiting_release(Inquiry.objects.all(), person_ids=person_ids, due=_inquiries_due)


def _inquiries_due(ids: list[int]) -> None:
    inquiries_due.send(sender=Inquiry, inquiry_ids=ids)


def inquiries_ask(*, inquiry_ids: Sequence[int]) -> int:
    """Ask the intermediate server the inquiries still `sent`, a batch per request, and keep
    each answer; the asking system gets an `inquiry.answered` notice. A transport failure
    raises PeerUnavailable (the task retries; nothing was marked). Returns how many were
    answered or refused."""
    done = 0
    pending = sorted(set(inquiry_ids))
    for start in range(0, len(pending), settings.INQUIRY_BATCH):
        inquiries = list(
            Inquiry.objects.filter(
                pk__in=pending[start : start + settings.INQUIRY_BATCH], status=Inquiry.Status.SENT
            )
            .select_related("person__merged_into", "client")
            .order_by("pk")
        )
        if not inquiries:
            continue
        # Touched: the sweep leaves an inquiry alone while it is being asked.
        Inquiry.objects.filter(pk__in=[i.pk for i in inquiries]).update(
            attempts=F("attempts") + 1, updated_at=timezone.now()
        )
        answers = inquiries_send(
            [
                InquiryMessage(
                    inquiry_id=str(inquiry.inquiry_id),
                    integrated_number=integrated_number_of(inquiry.person),
                    procedure=inquiry.procedure,
                    data_set=inquiry.data_set,
                    provider=inquiry.provider,
                )
                for inquiry in inquiries
            ]
        )
        now = timezone.now()
        with transaction.atomic():
            notices = []
            for inquiry, answer in zip(inquiries, answers, strict=True):
                if answer.in_progress:
                    continue  # still `sent`: the sweep or a retry asks again
                if answer.refusal is None:
                    inquiry.status, inquiry.records = Inquiry.Status.ANSWERED, answer.records
                    inquiry.reason = ""
                else:
                    inquiry.status = (
                        Inquiry.Status.REFUSED
                        if answer.refused_by_network
                        else Inquiry.Status.ERROR
                    )
                    inquiry.reason = f"{answer.refusal.code}: {answer.refusal.detail}"[:300]
                    logger.info("inquiry %s refused: %s", inquiry.inquiry_id, answer.refusal.code)
                inquiry.answered_at = inquiry.updated_at = now
                updated = Inquiry.objects.filter(pk=inquiry.pk, status=Inquiry.Status.SENT).update(
                    status=inquiry.status,
                    records=inquiry.records,
                    reason=inquiry.reason,
                    answered_at=now,
                    updated_at=now,
                )
                if updated:  # another run did not keep it first
                    done += 1
                    if inquiry.client.callback_url and inquiry.client.revoked_at is None:
                        notices.append(_answered_notice(inquiry))
            if notices:
                Notice.objects.bulk_create(notices)
                notices_due.send(sender=Notice, notice_ids=[notice.pk for notice in notices])
    return done


def _answered_notice(inquiry: Inquiry) -> Notice:
    """inquiry.answered to the asking system: which inquiry, and how it ended; the records
    are read with GET /api/v1/inquiries/<inquiry_id>."""
    return Notice(
        event=NoticeEvent.INQUIRY_ANSWERED,
        client=inquiry.client,
        person=inquiry.person,
        payload={
            "inquiry_id": str(inquiry.inquiry_id),
            "status": inquiry.status,
            "number_system": inquiry.number_system,
            "address_number": inquiry.address_number,
            "integrated_number": integrated_number_of(inquiry.person),
        },
    )


def inquiries_sweep(*, now: datetime.datetime | None = None) -> int:
    """Enqueue again the inquiries still to be asked whose message was lost (`sent` and
    untouched for COPY_STALLED_AFTER seconds)."""
    return stalled_resend(
        Inquiry.objects.filter(status=Inquiry.Status.SENT), due=_inquiries_due, now=now
    )


def exchange_records_of(person: Person) -> list[dict[str, Any]]:
    """情報提供等記録 of a person, read from the intermediate server (TKM)."""
    return exchange_records_read(integrated_number=integrated_number_of(person))
