"""The simulated national side's daily work after the codes (SPEC 11): 情報照会 (SKI) from one
institution, routed by the information provision network, which checks the table of permitted
exchanges and turns the requester's code of the person into the provider's; 情報提供 (TKY), the
provider's intermediate server answering by itself from its copies (自動応答); and the
情報提供等記録 (TKM) both institutions keep. The person travels as a code between institutions
and as an integrated number inside one; never as an individual number.

Each peer reaches the next over HTTP, as the code chain does; the sandbox answers an inquiry
while it is asked (the real network answers later), so linkage's side is the one that waits.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from config.sandbox import network_headers
from primitives.http import peer_call

from .models import (
    CodeInformation,
    CopyRecord,
    ExchangeRecord,
    InquiryRecord,
    InstitutionPerson,
    NetworkSerial,
    PermittedExchange,
)
from .services import Refused, code_derive

PERMITTED_ROWS = Path(__file__).resolve().parent / "data" / "permitted_exchanges.json"


def permitted_exchanges_load(path: Path = PERMITTED_ROWS) -> int:
    """The table of permitted exchanges from its data file (the migration loads it once; a
    maintainer edits the table or the file and loads it again)."""
    rows = json.loads(path.read_text(encoding="utf-8"))
    for row in rows:
        PermittedExchange.objects.update_or_create(
            procedure=row["procedure"], data_set=row["data_set"], defaults=row
        )
    return len(rows)


def institution_person_add(*, lg_code: str, integrated_number: str, resident_code: str) -> str:
    """A person of an institution the sandbox simulates whole (its own linkage does not run
    here): its code in the code information table 46 and in the network's knowledge. Returns
    the code."""
    code = code_derive(lg_code=lg_code, resident_code=resident_code)
    CodeInformation.objects.get_or_create(
        lg_code=lg_code, integrated_number=integrated_number, defaults={"code": code}
    )
    InstitutionPerson.objects.get_or_create(
        lg_code=lg_code, code=code, defaults={"resident_code": resident_code}
    )
    return code


# --- 中間サーバー 3, the requesting institution ----------------------------------------------


@dataclass(frozen=True)
class InquiryItem:
    inquiry_id: str
    integrated_number: str
    procedure: str
    data_set: str
    provider: str


def inquiry_answer(record: InquiryRecord) -> dict[str, Any]:
    """An inquiry's answer as the requesting institution reads it."""
    if record.outcome == InquiryRecord.Outcome.REFUSED:
        return {
            "inquiry_id": record.inquiry_id,
            "status": "refused",
            "code": record.refusal_code,
            "detail": record.refusal_detail,
        }
    return {"inquiry_id": record.inquiry_id, "status": "answered", "records": record.records}


# An inquiry being asked longer than this is taken over by the next request for it (the
# request that was asking it died).
ASKING_SECONDS = 30


def inquiries_ask(*, lg_code: str, items: Sequence[InquiryItem]) -> list[InquiryRecord | Refused]:
    """情報照会 for a batch: each inquiry asked of the network once and kept; an inquiry asked
    before is answered from what was kept (a repeated batch asks nothing again), one being
    asked by a concurrent request is refused `in_progress` (ask again later). A network that
    cannot be reached raises PeerUnavailable for the batch: what was answered before it stays
    kept, the rest is asked again with the retry."""
    codes = dict(
        CodeInformation.objects.filter(
            lg_code=lg_code, integrated_number__in=[item.integrated_number for item in items]
        ).values_list("integrated_number", "code")
    )
    outcomes: list[InquiryRecord | Refused] = []
    for item in items:
        code = codes.get(item.integrated_number)
        if code is None:
            outcomes.append(
                Refused(409, "code_not_acquired", "符号未取得: the person has no code here")
            )
            continue
        record, mine = _claimed(lg_code, item)
        if not mine:
            outcomes.append(
                record
                if record.outcome != InquiryRecord.Outcome.ASKING
                else Refused(409, "in_progress", "this inquiry is being asked; ask again later")
            )
            continue
        try:
            answer = peer_call(
                "POST",
                f"{settings.PEER_URLS['network'].rstrip('/')}/inquiries",
                {
                    "exchange_id": item.inquiry_id,
                    "requester": lg_code,
                    "code": code,
                    "procedure": item.procedure,
                    "data_set": item.data_set,
                    "provider": item.provider,
                },
                headers=network_headers(),
            ).body
        except Exception:
            record.delete()  # not asked after all: the retry asks it
            raise
        outcomes.append(_kept(record, answer))
    return outcomes


def _claimed(lg_code: str, item: InquiryItem) -> tuple[InquiryRecord, bool]:
    """The inquiry's record, and whether this request asks the network: it created the
    record, or took over one left `asking` by a request that died."""
    record, created = InquiryRecord.objects.get_or_create(
        lg_code=lg_code,
        inquiry_id=item.inquiry_id,
        defaults={
            "integrated_number": item.integrated_number,
            "procedure": item.procedure,
            "data_set": item.data_set,
            "provider": item.provider,
            "outcome": InquiryRecord.Outcome.ASKING,
        },
    )
    if created:
        return record, True
    stale = timezone.now() - datetime.timedelta(seconds=ASKING_SECONDS)
    taken = InquiryRecord.objects.filter(
        pk=record.pk, outcome=InquiryRecord.Outcome.ASKING, asked_at__lt=stale
    ).update(asked_at=timezone.now())
    return record, bool(taken)


def _kept(record: InquiryRecord, answer: dict[str, Any]) -> InquiryRecord:
    """The network's answer, kept with the requester's exchange record (once per inquiry)."""
    refused = answer.get("status") == "refused"
    record.outcome = InquiryRecord.Outcome.REFUSED if refused else InquiryRecord.Outcome.ANSWERED
    record.refusal_code = str(answer.get("code", ""))[:40] if refused else ""
    record.refusal_detail = str(answer.get("detail", ""))[:300] if refused else ""
    record.records = [] if refused else list(answer.get("records", []))
    with transaction.atomic():
        record.save(update_fields=["outcome", "refusal_code", "refusal_detail", "records"])
        ExchangeRecord.objects.get_or_create(
            lg_code=record.lg_code,
            exchange_id=record.inquiry_id,
            role=ExchangeRecord.Role.REQUESTER,
            defaults={
                "integrated_number": record.integrated_number,
                "counterpart": record.provider,
                "procedure": record.procedure,
                "data_set": record.data_set,
                "outcome": record.outcome,
                "reason": record.refusal_detail,
            },
        )
    return record


def exchange_records(*, lg_code: str, integrated_number: str) -> list[dict[str, Any]]:
    """情報提供等記録 of one person at one institution, newest first."""
    return [
        {
            "exchange_id": record.exchange_id,
            "role": record.role,
            "counterpart": record.counterpart,
            "procedure": record.procedure,
            "data_set": record.data_set,
            "outcome": record.outcome,
            "reason": record.reason,
            "recorded_at": record.recorded_at.isoformat(),
        }
        for record in ExchangeRecord.objects.filter(
            lg_code=lg_code, integrated_number=integrated_number
        ).order_by("-recorded_at", "-pk")
    ]


# --- 情報提供ネットワークシステム 4 -----------------------------------------------------------


@dataclass(frozen=True)
class NetworkInquiry:
    exchange_id: str
    requester: str
    code: str
    procedure: str
    data_set: str
    provider: str


def _refusal(code: str, detail: str) -> dict[str, Any]:
    return {"status": "refused", "code": code, "detail": detail}


def network_route(inquiry: NetworkInquiry) -> dict[str, Any]:
    """An inquiry checked against the table of permitted exchanges (refused outside it), then
    routed from the requester's code of the person to the provider's, whose intermediate
    server answers it. Refusals are answered, not raised: the requester records them."""
    if not PermittedExchange.objects.filter(
        procedure=inquiry.procedure, data_set=inquiry.data_set
    ).exists():
        return _refusal(
            "not_permitted",
            f"the procedure {inquiry.procedure} may not ask for {inquiry.data_set} "
            "(not in the table of permitted exchanges)",
        )
    resident_code = (
        NetworkSerial.objects.filter(lg_code=inquiry.requester, code=inquiry.code)
        .exclude(resident_code="")
        .values_list("resident_code", flat=True)
        .first()
    ) or (
        InstitutionPerson.objects.filter(lg_code=inquiry.requester, code=inquiry.code)
        .values_list("resident_code", flat=True)
        .first()
    )
    if not resident_code:
        return _refusal("unknown_person", "the network knows no person by this code")
    answer = peer_call(
        "POST",
        f"{settings.PEER_URLS['intermediate'].rstrip('/')}/provisions",
        {
            "exchange_id": inquiry.exchange_id,
            "provider": inquiry.provider,
            "requester": inquiry.requester,
            "code": code_derive(lg_code=inquiry.provider, resident_code=resident_code),
            "procedure": inquiry.procedure,
            "data_set": inquiry.data_set,
        },
        headers=network_headers(),
    )
    return answer.body


# --- 中間サーバー 3, the providing institution (情報提供, 自動応答) ------------------------------


@dataclass(frozen=True)
class Provision:
    exchange_id: str
    provider: str
    requester: str
    code: str
    procedure: str
    data_set: str


def provision_answer(provision: Provision, *, today: datetime.date | None = None) -> dict[str, Any]:
    """情報提供 by itself (自動応答): the provider's copies of the data set valid today for the
    person with this code, recorded once in the provider's exchange records."""
    today = today or timezone.localdate()
    integrated_number = (
        CodeInformation.objects.filter(lg_code=provision.provider, code=provision.code)
        .values_list("integrated_number", flat=True)
        .first()
    )
    if integrated_number is None:
        return _refusal("unknown_person", "the provider knows no person by this code")
    copies = CopyRecord.objects.filter(
        Q(valid_to__isnull=True) | Q(valid_to__gte=today),
        lg_code=provision.provider,
        integrated_number=integrated_number,
        data_set=provision.data_set,
        withdrawn_at__isnull=True,
        valid_from__lte=today,
    ).order_by("record_key")
    records = [
        {
            "record_key": copy.record_key,
            "items": copy.items,
            "valid_from": copy.valid_from.isoformat(),
            "valid_to": copy.valid_to.isoformat() if copy.valid_to else None,
        }
        for copy in copies
    ]
    ExchangeRecord.objects.get_or_create(
        lg_code=provision.provider,
        exchange_id=provision.exchange_id,
        role=ExchangeRecord.Role.PROVIDER,
        defaults={
            "integrated_number": integrated_number,
            "counterpart": provision.requester,
            "procedure": provision.procedure,
            "data_set": provision.data_set,
            "outcome": InquiryRecord.Outcome.ANSWERED,
        },
    )
    return {"status": "answered", "records": records}
