"""副本登録 (SPEC 11): business systems' copies of their data, registered on the intermediate
server so other institutions' inquiries are answered from them.

A business system names the person by its own address number; linkage keeps the copy against
the integrated person and hands it to the intermediate server by integrated number only. A
copy of a person whose code is not yet acquired waits (`waiting_for_code`, 符号未取得) and goes
out by itself when the confirmation unit finds the code (the `codes_acquired` signal): the
pending-row pattern of the code requests. Every registration, replacement and withdrawal is a
new revision; the intermediate server keeps a copy by its id and takes each revision once, so
a delivery repeated after a lost answer changes nothing there.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from ..clients.intermediate import CopyMessage, copies_send
from ..events import copies_due
from ..models import BackboneClient, Copy, Person
from .exchanges import (
    DRAIN_LIMIT,
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
class CopyContent:
    """What a business system says of one copy (`POST /api/v1/copies`, `PUT` for the items
    and validity)."""

    number_system: str
    address_number: str
    data_set: str
    record_key: str
    items: dict[str, Any]
    valid_from: datetime.date
    valid_to: datetime.date | None = None
    event_id: str = ""

    def digest(self) -> str:
        return body_digest(self.__dict__)


@dataclass(frozen=True)
class CopyResult:
    copy: Copy
    created: bool = field(default=True)


def _checked(client: BackboneClient, content: CopyContent) -> Person:
    """The person the copy belongs to, after the checks every registration passes."""
    data_set = configured(
        "data_set", content.data_set, settings.EXCHANGE_DATA_SETS, field="data_set"
    )
    if client.number_system not in data_set["registered_by"]:
        raise ExchangeRefused(
            403,
            "data_set",
            "data_set_not_allowed",
            f"number system {client.number_system} does not register {content.data_set}",
        )
    return exchange_person(
        number_system=content.number_system,
        address_number=content.address_number,
        what="copies",
    )


def _status_for(person: Person) -> str:
    return Copy.Status.SENT if code_acquired(person) else Copy.Status.WAITING_FOR_CODE


def copy_register(*, client: BackboneClient, content: CopyContent) -> CopyResult:
    """A new copy, or the one this event id registered before (created False). The same
    event id with another body, or a live copy of the same record, is refused (409)."""
    digest = content.digest()
    earlier = Copy.objects.filter(
        number_system=content.number_system, event_id=content.event_id
    ).first()
    if earlier is not None:
        return _repeat(earlier, digest)
    person = _checked(client, content)
    try:
        with transaction.atomic():
            copy = Copy.objects.create(
                client=client,
                number_system=content.number_system,
                event_id=content.event_id,
                body_digest=digest,
                person=person,
                address_number=content.address_number,
                data_set=content.data_set,
                record_key=content.record_key,
                items=content.items,
                valid_from=content.valid_from,
                valid_to=content.valid_to,
                status=_status_for(person),
            )
            _due([copy])
    except IntegrityError:
        earlier = Copy.objects.filter(
            number_system=content.number_system, event_id=content.event_id
        ).first()
        if earlier is not None:  # the same event at the same moment: answered as a repeat
            return _repeat(earlier, digest)
        raise ExchangeRefused(
            409,
            "record_key",
            "record_key_taken",
            f"a live copy of {content.data_set} {content.record_key} exists; replace it "
            "(PUT /api/v1/copies/<copy_id>) or withdraw it first",
        ) from None
    return CopyResult(copy)


def _repeat(earlier: Copy, digest: str) -> CopyResult:
    if earlier.body_digest != digest:
        raise event_id_reused()
    return CopyResult(earlier, created=False)


def copy_replace(*, copy: Copy, content: CopyContent) -> CopyResult:
    """New items and validity for a live copy: a new revision (created False when they are
    what the copy holds)."""
    with transaction.atomic():
        locked = Copy.objects.select_for_update().get(pk=copy.pk)
        if locked.withdrawn_at is not None:
            raise ExchangeRefused(409, "", "copy_withdrawn", "the copy was withdrawn")
        if (locked.items, locked.valid_from, locked.valid_to) == (
            content.items,
            content.valid_from,
            content.valid_to,
        ):
            return CopyResult(locked, created=False)
        locked.items = content.items
        locked.valid_from, locked.valid_to = content.valid_from, content.valid_to
        locked.revision += 1
        if locked.status != Copy.Status.WAITING_FOR_CODE:
            locked.status = Copy.Status.SENT
        locked.save(
            update_fields=["items", "valid_from", "valid_to", "revision", "status", "updated_at"]
        )
        _due([locked])
    return CopyResult(locked)


def copy_withdraw(*, copy: Copy) -> CopyResult:
    """The copy ends: the intermediate server drops it (created False when it had ended)."""
    with transaction.atomic():
        locked = Copy.objects.select_for_update().get(pk=copy.pk)
        if locked.withdrawn_at is not None:
            return CopyResult(locked, created=False)
        locked.withdrawn_at = timezone.now()
        if locked.delivered_revision == 0:
            # Never on the intermediate server: nothing to take back there.
            locked.delivered_revision = locked.revision
        else:
            locked.revision += 1
        locked.status = Copy.Status.WITHDRAWN
        locked.save(
            update_fields=["withdrawn_at", "delivered_revision", "revision", "status", "updated_at"]
        )
        _due([locked])
    return CopyResult(locked)


def _due(copies: Sequence[Copy]) -> None:
    """Hand the copies that must reach the intermediate server to delivery, after commit."""
    ids = [copy.pk for copy in copies if copy.is_due]
    if ids:
        _copies_due(ids)


def copies_release(*, person_ids: Sequence[int]) -> int:
    """The copies that waited for these persons' codes go out now."""
    return waiting_release(Copy.objects.all(), person_ids=person_ids, due=_copies_due)


def copies_due_ids() -> list[int]:
    """The copies due for delivery, oldest first, as many as one drain takes."""
    return list(Copy.objects.due().order_by("pk").values_list("pk", flat=True)[:DRAIN_LIMIT])


def _copies_due(ids: list[int]) -> None:
    copies_due.send(sender=Copy, copy_ids=ids)


def _message(copy: Copy) -> CopyMessage:
    return CopyMessage(
        copy_id=str(copy.copy_id),
        revision=copy.revision,
        operation="withdraw" if copy.withdrawn_at else "register",
        integrated_number=integrated_number_of(copy.person),
        data_set=copy.data_set,
        record_key=copy.record_key,
        items=copy.items,
        valid_from=copy.valid_from.isoformat(),
        valid_to=copy.valid_to.isoformat() if copy.valid_to else None,
    )


def copies_deliver(*, copy_ids: Sequence[int]) -> int:
    """Send the due revisions of these copies, a batch per request; each copy the intermediate
    server took is marked with the revision it took, each it refused is an error with the
    reason. A transport failure raises PeerUnavailable (the task retries; nothing was marked).
    Returns how many copies the intermediate server took."""
    taken = 0
    pending = sorted(set(copy_ids))
    for start in range(0, len(pending), settings.COPY_BATCH):
        copies = list(
            Copy.objects.due()
            .filter(pk__in=pending[start : start + settings.COPY_BATCH])
            .select_related("person__merged_into")
            .order_by("pk")
        )
        if not copies:
            continue
        messages = [_message(copy) for copy in copies]
        # Touched: the sweep leaves a copy alone while it is being delivered.
        Copy.objects.filter(pk__in=[copy.pk for copy in copies]).update(
            attempts=F("attempts") + 1, updated_at=timezone.now()
        )
        results = copies_send(messages)
        # Set-wise: one UPDATE per outcome (and per refusal reason), each row matched with the
        # revision that was sent, so a newer one (a replacement meanwhile) stays due.
        outcomes: dict[tuple[str, str], Q] = defaultdict(Q)
        for copy, message, refused in zip(copies, messages, results, strict=True):
            sent = Q(pk=copy.pk, revision=message.revision)
            if refused is None:
                taken += 1
                withdrawn = message.operation == "withdraw"
                status: str = Copy.Status.WITHDRAWN if withdrawn else Copy.Status.REGISTERED
                outcomes[(status, "")] |= sent
            else:
                logger.warning(
                    "the intermediate server refused copy %s: %s", copy.copy_id, refused.code
                )
                reason = f"{refused.code}: {refused.detail}"[:300]
                outcomes[(Copy.Status.ERROR, reason)] |= sent
        now = timezone.now()
        with transaction.atomic():
            for (status, reason), rows in outcomes.items():
                Copy.objects.filter(rows).update(
                    delivered_revision=F("revision"),
                    status=status,
                    last_error=reason,
                    updated_at=now,
                    **({} if status == Copy.Status.ERROR else {"registered_at": now}),
                )
    return taken


def copies_sweep(*, now: datetime.datetime | None = None) -> int:
    """Enqueue again the copies due for delivery whose message was lost (due and untouched for
    COPY_STALLED_AFTER seconds)."""
    return stalled_resend(Copy.objects.due(), due=_copies_due, now=now)
