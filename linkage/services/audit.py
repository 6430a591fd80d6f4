"""The access audit (特定個人情報の利用の記録): one hash-chained AccessRecord per search,
person view, reveal, export, correction, re-request and API read, with who, when, from where
and the outcome; and the chain's verification.

Recording never stores the individual number: a search by one records `"(given)"`, and
every criterion, path and user name passes linkage.masking first, so a number typed into
any field is recorded as "a number-shaped value was given", never as itself.
"""

from __future__ import annotations

import datetime
import json
import logging
import random
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.http import HttpRequest
from django.utils import timezone
from rest_framework.request import Request

from primitives.crypto import audit_digest

from ..masking import mask_number_shaped, printable, recorded_value
from ..models import AccessRecord, AuditChainVerification, BackboneClient
from ..selectors import HeavyReader, heavy_readers

logger = logging.getLogger(__name__)

GENESIS = "0" * 64
GIVEN = "(given)"
_CHAINED_FIELDS = (
    "occurred_at",
    "action",
    "outcome",
    "user_id",
    "username",
    "client_id",
    "source_address",
    "path",
    "criteria",
    "integrated_numbers",
    "result_count",
)
_RACE_RETRIES = 50
_CHAIN_LOCK_ID = 0x4C4B4155  # "LKAU": the access records' chain


def _canonical(record: AccessRecord) -> bytes:
    values = {name: getattr(record, name) for name in _CHAINED_FIELDS}
    values["occurred_at"] = record.occurred_at.isoformat()
    return json.dumps(values, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def record_hash(record: AccessRecord) -> str:
    return audit_digest(record.previous_hash.encode("ascii") + _canonical(record))


def access_record(
    *,
    action: str,
    outcome: str,
    request: HttpRequest | Request | None = None,
    user: Any = None,
    client: BackboneClient | None = None,
    username: str = "",
    criteria: dict[str, Any] | None = None,
    integrated_numbers: Iterable[str] = (),
    result_count: int | None = None,
) -> AccessRecord:
    """Append one record to the chain (retrying when another writer extended it first)."""
    candidate = getattr(request, "user", None) if user is None else None
    if isinstance(candidate, BackboneClient):
        client = client or candidate
    elif candidate is not None and candidate.is_authenticated:
        user = candidate
    record = AccessRecord(
        occurred_at=timezone.now(),
        action=action,
        outcome=outcome,
        user=user,
        username=recorded_value(
            username or (user.get_username() if user is not None else ""), limit=150
        ),
        client=client,
        source_address=request.META.get("REMOTE_ADDR") if request is not None else None,
        path=mask_number_shaped(printable(request.path))[:200] if request is not None else "",
        criteria=criteria_recorded(criteria or {}),
        integrated_numbers=[recorded_value(number, limit=15) for number in integrated_numbers],
        result_count=result_count,
    )
    for attempt in range(1, _RACE_RETRIES + 1):
        try:
            with transaction.atomic():
                _chain_lock()
                record.previous_hash = (
                    AccessRecord.objects.order_by("-pk").values_list("row_hash", flat=True).first()
                    or GENESIS
                )
                record.row_hash = record_hash(record)
                record.save(force_insert=True)
            return record
        except IntegrityError:
            # SQLite: another writer extended the chain between our read and our write.
            record.pk = None
            if attempt == _RACE_RETRIES:
                raise
            time.sleep(random.uniform(0, 0.01 * attempt))  # noqa: S311 (jitter, not secrecy)
    raise AssertionError("unreachable")


def _chain_lock() -> None:
    """One writer at a time extends the chain, so the head read is the true tail and the
    ids follow the chain. PostgreSQL: a transaction-scoped advisory lock. SQLite serialises
    writers itself; a writer that read a stale head meets the unique previous_hash and
    retries."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_ID])


@dataclass(frozen=True)
class ChainBreak:
    record_id: int
    reason: str


@dataclass(frozen=True)
class ChainReport:
    records: int
    last_hash: str
    broken: ChainBreak | None


def audit_chain_verify() -> ChainReport:
    """Walk the chain from the first record; the first row that does not follow from the one
    before it (edited, deleted before it, or inserted) is reported."""
    expected = GENESIS
    count = 0
    for record in AccessRecord.objects.order_by("pk").iterator(chunk_size=2000):
        count += 1
        if record.previous_hash != expected:
            return ChainReport(
                count, expected, ChainBreak(record.pk, "the record before it is missing or changed")
            )
        if record_hash(record) != record.row_hash:
            return ChainReport(count, expected, ChainBreak(record.pk, "its content was changed"))
        expected = record.row_hash
    return ChainReport(count, expected, None)


def audit_chain_verify_recorded() -> ChainReport:
    """Verify the chain and keep the result (linkage.models.AuditChainVerification); a
    broken chain is also logged as an error, for the operators' log monitoring."""
    report = audit_chain_verify()
    AuditChainVerification.objects.create(
        records=report.records,
        last_hash=report.last_hash,
        holds=report.broken is None,
        broken_record_id=report.broken.record_id if report.broken else None,
        reason=report.broken.reason if report.broken else "",
    )
    if report.broken is not None:
        logger.error(
            "the access records' chain is broken at record #%d: %s",
            report.broken.record_id,
            report.broken.reason,
        )
    else:
        logger.info("the access records' chain holds: %d records", report.records)
    return report


def criteria_recorded(criteria: Mapping[str, Any]) -> dict[str, str]:
    """Criteria as a record may hold them (the one rule every record passes): names and
    values printable and short, and any that looks like an individual number replaced by
    linkage.masking.NUMBER_SHAPED_GIVEN."""
    return {
        recorded_value(name, limit=64): value if value == GIVEN else recorded_value(value)
        for name, value in criteria.items()
    }


def criteria_of(criteria: Mapping[str, Any]) -> dict[str, str]:
    """Search criteria as the audit keeps them: the values given, as text. (A search by
    individual number records GIVEN instead; no caller passes the number here.)"""
    return {
        name: value.isoformat() if isinstance(value, datetime.date) else str(value)
        for name, value in criteria.items()
        if value not in (None, "", [])
    }


# --- Heavy reading ---------------------------------------------------------------------------


def heavy_readers_report(*, now: datetime.datetime | None = None) -> list[HeavyReader]:
    """Each heavy reader as a WARNING line, for the operators' monitoring (beat, every 15
    minutes): who, how many persons, since when; never which persons."""
    found = heavy_readers(now=now)
    for reader in found:
        logger.warning(
            "%s opened %d persons in the last hour (%s to %s; ACCESS_ALERT_PERSONS_PER_HOUR "
            "is %d): see the access records",
            reader.username,
            reader.persons,
            timezone.localtime(reader.first_at).strftime("%H:%M"),
            timezone.localtime(reader.last_at).strftime("%H:%M"),
            settings.ACCESS_ALERT_PERSONS_PER_HOUR,
        )
    return found
