"""The national side's behaviour, one function per step of the seed's figures 6 and 11."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.sandbox import simulator_index_key
from primitives.crypto import blind_index
from primitives.numbers import resident_code_complete
from primitives.sealed import PairT, sealed
from primitives.sealed import pairs_record as sealed_pairs_record

from .models import (
    CodeAcquisitionFileRequest,
    CodeInformation,
    CopyRecord,
    NetworkSerial,
    RegistryEntry,
    SerialNumberRequest,
)

ACTIVE = (
    SerialNumberRequest.Status.PENDING,
    SerialNumberRequest.Status.ISSUED,
    SerialNumberRequest.Status.ACQUIRED,
)


class Refused(Exception):
    """A request the simulated peer refuses (answered 4xx)."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


def encrypted(individual_number: str) -> dict[str, str]:
    """The sealed columns of a number held by a simulated national peer."""
    return sealed(individual_number, index_key=simulator_index_key())


# --- 中間サーバー 3 -------------------------------------------------------------------------


@dataclass(frozen=True)
class SerialRequestItem:
    """One person of a processing-serial-number request (a batch carries many)."""

    integrated_number: str
    individual_number: str
    idempotency_key: str

    def __repr__(self) -> str:  # never print the individual number
        return f"SerialRequestItem({self.integrated_number}, {self.idempotency_key})"


def serial_number_requests_accept(
    *, lg_code: str, items: Sequence[SerialRequestItem]
) -> list[tuple[SerialNumberRequest, bool] | Refused]:
    """S28-S29 for a batch: per item the request and whether it is new, or why it is refused.
    The same idempotency key again returns the first request (nothing is passed on twice);
    a second live request for one person is refused without failing the batch's other items.
    Set-wise: one read of the keys, one of the live persons, one insert; a
    concurrent batch with the same keys wins the unique constraint and this one reads it."""
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                return _serial_number_requests_accept(lg_code, items)
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _serial_number_requests_accept(
    lg_code: str, items: Sequence[SerialRequestItem]
) -> list[tuple[SerialNumberRequest, bool] | Refused]:
    # The live requests are read before the keys. Each read sees what was committed when it
    # began, so a repeat of this batch (its sender timed out and tried again) whose first copy
    # commits between the two reads is found by its keys; read the other way round, its
    # persons would look requested by someone else and be refused.
    live = set(
        SerialNumberRequest.objects.select_for_update()
        .filter(
            lg_code=lg_code,
            integrated_number__in=[item.integrated_number for item in items],
            status__in=ACTIVE,
        )
        .values_list("integrated_number", flat=True)
    )
    existing = {
        request.idempotency_key: request
        for request in SerialNumberRequest.objects.filter(
            idempotency_key__in=[item.idempotency_key for item in items]
        )
    }
    outcomes: list[tuple[SerialNumberRequest, bool] | Refused] = []
    new: list[SerialNumberRequest] = []
    for item in items:
        if item.idempotency_key in existing:
            outcomes.append((existing[item.idempotency_key], False))
            continue
        if item.integrated_number in live:
            outcomes.append(
                Refused(
                    409,
                    "already_requested",
                    "a code request for this person is in progress or done",
                )
            )
            continue
        request = SerialNumberRequest(
            lg_code=lg_code,
            integrated_number=item.integrated_number,
            idempotency_key=item.idempotency_key,
            **encrypted(item.individual_number),
        )
        live.add(item.integrated_number)
        existing[item.idempotency_key] = request
        new.append(request)
        outcomes.append((request, True))
    SerialNumberRequest.objects.bulk_create(new)
    return outcomes


def serial_numbers_issued(issued: dict[int, str]) -> None:
    """The network's processing serial numbers, per request id, for the requests waiting."""
    for request_id, processing_serial_number in issued.items():
        SerialNumberRequest.objects.filter(
            pk=request_id, status=SerialNumberRequest.Status.PENDING
        ).update(
            processing_serial_number=processing_serial_number,
            status=SerialNumberRequest.Status.ISSUED,
        )


def code_acquisition_file_accept(
    *, lg_code: str, integrated_numbers: list[str], idempotency_key: str
) -> CodeAcquisitionFileRequest:
    """S30-S31: a code acquisition request file for many persons; answered with a reception
    number. Every person must have a live serial-number request."""
    existing = CodeAcquisitionFileRequest.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    known = set(
        SerialNumberRequest.objects.filter(
            lg_code=lg_code, integrated_number__in=integrated_numbers, status__in=ACTIVE
        ).values_list("integrated_number", flat=True)
    )
    unknown = sorted(set(integrated_numbers) - known)
    if unknown:
        raise Refused(
            400,
            "unknown_integrated_number",
            f"no serial-number request for {', '.join(unknown[:5])}",
        )
    file, _ = CodeAcquisitionFileRequest.objects.get_or_create(
        idempotency_key=idempotency_key,
        defaults={
            "lg_code": lg_code,
            "reception_number": f"R{timezone.localdate():%Y%m%d}{secrets.randbelow(10**10):010d}",
            "integrated_numbers": sorted(set(integrated_numbers)),
        },
    )
    return file


def code_acquisition_file_entries(
    file: CodeAcquisitionFileRequest,
) -> list[SerialNumberRequest] | None:
    """S32-S33/S45-S47: the file's entries, or None while a serial number is still missing."""
    requests = list(
        SerialNumberRequest.objects.filter(
            lg_code=file.lg_code, integrated_number__in=file.integrated_numbers, status__in=ACTIVE
        ).order_by("integrated_number")
    )
    if any(not request.processing_serial_number for request in requests):
        return None
    return requests


def code_acquisition_file_release(file: CodeAcquisitionFileRequest) -> None:
    """The requester has sent every entry on: the file is closed and the individual numbers
    its serial-number requests held are dropped (nothing here needs them any more)."""
    with transaction.atomic():
        if CodeAcquisitionFileRequest.objects.filter(pk=file.pk, released_at__isnull=True).update(
            released_at=timezone.now()
        ):
            SerialNumberRequest.objects.filter(
                lg_code=file.lg_code, integrated_number__in=file.integrated_numbers
            ).update(individual_number_encrypted="", individual_number_index="")


@dataclass(frozen=True)
class CodeAnswer:
    """The network's answer for one processing serial number: the code, or the error."""

    processing_serial_number: str
    code: str = ""
    error: str = ""


def codes_store(answers: Sequence[CodeAnswer]) -> list[Refused | None]:
    """S100 for a batch: each code into table 46 (integrated number <-> code), or the error
    on its request; per answer None, or why it is refused (an unknown serial number). Set-wise:
    one locked read of the requests, one insert of the codes, one update per outcome."""
    with transaction.atomic():
        requests = {
            request.processing_serial_number: request
            for request in SerialNumberRequest.objects.select_for_update().filter(
                processing_serial_number__in=[a.processing_serial_number for a in answers]
            )
        }
        codes: list[CodeInformation] = []
        acquired: set[int] = set()
        errors: dict[int, str] = {}
        outcomes: list[Refused | None] = []
        for answer in answers:
            request = requests.get(answer.processing_serial_number)
            if request is None:
                outcomes.append(
                    Refused(404, "unknown_serial", "no request has this processing serial number")
                )
                continue
            outcomes.append(None)
            if answer.error:
                if request.status != SerialNumberRequest.Status.ACQUIRED:
                    errors[request.pk] = answer.error[:200]
                continue
            codes.append(
                CodeInformation(
                    lg_code=request.lg_code,
                    integrated_number=request.integrated_number,
                    code=answer.code,
                )
            )
            acquired.add(request.pk)
            errors.pop(request.pk, None)
        # A code already stored for the person stays (the first one wins, as before).
        CodeInformation.objects.bulk_create(codes, ignore_conflicts=True)
        now = timezone.now()
        SerialNumberRequest.objects.filter(pk__in=acquired).update(
            status=SerialNumberRequest.Status.ACQUIRED, updated_at=now
        )
        for request_id, reason in errors.items():
            SerialNumberRequest.objects.filter(pk=request_id).update(
                status=SerialNumberRequest.Status.ERROR, error_reason=reason, updated_at=now
            )
    return outcomes


def code_status_inquire(*, lg_code: str, integrated_numbers: list[str]) -> list[dict[str, str]]:
    """Confirmation (42) asks here: acquired / pending / error with a reason / unknown."""
    acquired = set(
        CodeInformation.objects.filter(
            lg_code=lg_code, integrated_number__in=integrated_numbers
        ).values_list("integrated_number", flat=True)
    )
    latest: dict[str, SerialNumberRequest] = {}
    for request in SerialNumberRequest.objects.filter(
        lg_code=lg_code, integrated_number__in=integrated_numbers
    ).order_by("received_at", "pk"):
        latest[request.integrated_number] = request
    results = []
    for number in integrated_numbers:
        if number in acquired:
            results.append({"integrated_number": number, "status": "acquired", "reason": ""})
        elif number not in latest:
            results.append({"integrated_number": number, "status": "unknown", "reason": ""})
        elif latest[number].status == SerialNumberRequest.Status.ERROR:
            results.append(
                {
                    "integrated_number": number,
                    "status": "error",
                    "reason": latest[number].error_reason,
                }
            )
        else:
            results.append({"integrated_number": number, "status": "pending", "reason": ""})
    return results


@dataclass(frozen=True)
class CopyItem:
    """One copy of a 副本登録 batch: its registration (or replacement) or its withdrawal."""

    copy_id: str
    revision: int
    operation: str  # register | withdraw
    integrated_number: str
    data_set: str = ""
    record_key: str = ""
    items: dict[str, object] | None = None
    valid_from: datetime.date | None = None
    valid_to: datetime.date | None = None


def copies_store(
    *, lg_code: str, items: Sequence[CopyItem]
) -> list[tuple[CopyRecord, bool] | Refused]:
    """副本登録 (DBM) for a batch: per item the record and whether this revision is new, or
    why it is refused. A copy needs the person's code here (符号未取得 is refused); a revision
    already taken, or an older one, changes nothing (a repeated batch repeats nothing).
    Set-wise: one locked read of the copies, one of the codes, one insert, one update; a
    concurrent batch registering the same new copy wins the unique constraint and this one
    reads it."""
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                return _copies_store(lg_code, items)
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _copies_store(
    lg_code: str, items: Sequence[CopyItem]
) -> list[tuple[CopyRecord, bool] | Refused]:
    stored = {
        record.copy_id: record
        for record in CopyRecord.objects.select_for_update().filter(
            lg_code=lg_code, copy_id__in=[item.copy_id for item in items]
        )
    }
    coded = set(
        CodeInformation.objects.filter(
            lg_code=lg_code,
            integrated_number__in=[item.integrated_number for item in items],
        ).values_list("integrated_number", flat=True)
    )
    now = timezone.now()
    outcomes: list[tuple[CopyRecord, bool] | Refused] = []
    new: dict[str, CopyRecord] = {}
    changed: dict[str, CopyRecord] = {}
    for item in items:
        record = new.get(item.copy_id) or stored.get(item.copy_id)
        if record is not None and record.revision >= item.revision:
            outcomes.append((record, False))
            continue
        if item.operation == "register" and item.integrated_number not in coded:
            outcomes.append(
                Refused(409, "code_not_acquired", "符号未取得: the person has no code here")
            )
            continue
        if record is None:
            record = CopyRecord(lg_code=lg_code, copy_id=item.copy_id)
            new[item.copy_id] = record
        elif record.pk is not None:
            changed[item.copy_id] = record
            record.updated_at = now
        record.revision = item.revision
        record.integrated_number = item.integrated_number
        if item.operation == "withdraw":
            record.withdrawn_at = now
            if record.pk is None:  # never registered here: kept as withdrawn
                record.data_set, record.record_key = item.data_set, item.record_key
                record.items, record.valid_from = {}, item.valid_from or now.date()
        else:
            record.data_set, record.record_key = item.data_set, item.record_key
            record.items = item.items or {}
            record.valid_from = item.valid_from or now.date()
            record.valid_to = item.valid_to
            record.withdrawn_at = None
        outcomes.append((record, True))
    CopyRecord.objects.bulk_create(new.values())
    if changed:
        CopyRecord.objects.bulk_update(
            changed.values(),
            [
                "revision",
                "integrated_number",
                "data_set",
                "record_key",
                "items",
                "valid_from",
                "valid_to",
                "withdrawn_at",
                "updated_at",
            ],
        )
    return outcomes


# --- 情報提供ネットワークシステム 4 -----------------------------------------------------------


@dataclass(frozen=True)
class SerialIssueItem:
    lg_code: str
    integrated_number: str
    request_key: str


def network_serials_issue(items: Sequence[SerialIssueItem]) -> list[NetworkSerial]:
    """S41/S50 for a batch: a processing serial number per item; the same request key gets
    the same one. Set-wise, with the unique request key settling a concurrent batch."""
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                return _network_serials_issue(items)
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _network_serials_issue(items: Sequence[SerialIssueItem]) -> list[NetworkSerial]:
    serials = {
        serial.request_key: serial
        for serial in NetworkSerial.objects.filter(
            request_key__in=[item.request_key for item in items]
        )
    }
    new = []
    for item in items:
        if item.request_key not in serials:
            serials[item.request_key] = serial = NetworkSerial(
                processing_serial_number=f"P{secrets.randbelow(10**15):015d}",
                request_key=item.request_key,
                lg_code=item.lg_code,
                integrated_number=item.integrated_number,
            )
            new.append(serial)
    NetworkSerial.objects.bulk_create(new)
    return [serials[item.request_key] for item in items]


def code_derive(*, lg_code: str, resident_code: str) -> str:
    """SPEC 4.4: a keyed one-way function of (lg_code, resident code); differs per municipality
    and cannot be computed from the individual number."""
    secret = settings.NETWORK_CODE_SECRET.encode("utf-8")
    return hmac.new(
        secret, f"{lg_code}:{resident_code}".encode("ascii"), hashlib.sha256
    ).hexdigest()[:32]


@dataclass(frozen=True)
class ResidentCodeAnswer:
    """The national server's answer for one processing serial number."""

    processing_serial_number: str
    resident_code: str = ""
    error: str = ""


def network_answers_record(answers: Sequence[ResidentCodeAnswer]) -> list[NetworkSerial | Refused]:
    """S90 for a batch: derive each code (or keep the error) once; per answer the serial, or
    why it is refused (an unknown processing serial number)."""
    with transaction.atomic():
        serials = {
            serial.processing_serial_number: serial
            for serial in NetworkSerial.objects.select_for_update().filter(
                processing_serial_number__in=[a.processing_serial_number for a in answers]
            )
        }
        now = timezone.now()
        answered: dict[int, NetworkSerial] = {}
        outcomes: list[NetworkSerial | Refused] = []
        for answer in answers:
            serial = serials.get(answer.processing_serial_number)
            if serial is None:
                outcomes.append(Refused(404, "unknown_serial", "no such processing serial number"))
                continue
            if serial.answered_at is None:
                if answer.resident_code:
                    serial.code = code_derive(
                        lg_code=serial.lg_code, resident_code=answer.resident_code
                    )
                    serial.resident_code = answer.resident_code
                else:
                    serial.error_reason = answer.error[:200] or "unknown error"
                serial.answered_at = now
                answered[serial.pk] = serial
            outcomes.append(serial)
        NetworkSerial.objects.bulk_update(
            answered.values(), ["code", "resident_code", "error_reason", "answered_at"]
        )
    return outcomes


# --- 住基全国サーバー 5 ----------------------------------------------------------------------


def registry_enrol(*, individual_number: str, resident_code: str | None = None) -> RegistryEntry:
    """Enrol an individual number with a resident code (a new one unless given)."""
    index = blind_index(individual_number, key=simulator_index_key())
    existing = RegistryEntry.objects.filter(individual_number_index=index).first()
    code = resident_code or resident_code_complete(f"{secrets.randbelow(10**10):010d}")
    if existing is not None:
        # Enrolled again: valid again, and known (a number marked unknown becomes known).
        existing.invalidated_at = None
        existing.unknown = False
        existing.resident_code = existing.resident_code or code
        existing.save(update_fields=["invalidated_at", "unknown", "resident_code"])
        return existing
    return RegistryEntry.objects.create(resident_code=code, **encrypted(individual_number))


def registry_invalidate(*, individual_number: str) -> bool:
    return bool(
        RegistryEntry.objects.filter(
            individual_number_index=blind_index(individual_number, key=simulator_index_key()),
            invalidated_at__isnull=True,
        ).update(invalidated_at=timezone.now())
    )


def registry_mark_unknown(*, individual_number: str) -> RegistryEntry:
    """The registry answers "not registered" for this number from now on (the sandbox's way
    of rehearsing the error list while every other valid number is known)."""
    entry = RegistryEntry.objects.filter(
        individual_number_index=blind_index(individual_number, key=simulator_index_key())
    ).first()
    if entry is None:
        return RegistryEntry.objects.create(unknown=True, **encrypted(individual_number))
    entry.unknown = True
    entry.save(update_fields=["unknown"])
    return entry


def registry_resolve(individual_number: str) -> tuple[str, str]:
    """S80: (resident code, "") or ("", reason). With NATIONAL_REGISTRY_OPEN (the sandbox's
    default) a valid number nobody enrolled is enrolled on first asking, so the happy path is
    what a newcomer sees; a number marked unknown is still "not registered"."""
    entry = RegistryEntry.objects.filter(
        individual_number_index=blind_index(individual_number, key=simulator_index_key())
    ).first()
    if entry is None and settings.NATIONAL_REGISTRY_OPEN:
        try:
            with transaction.atomic():
                entry = registry_enrol(individual_number=individual_number)
        except IntegrityError:  # enrolled by a concurrent inquiry: read the winner's entry
            entry = RegistryEntry.objects.filter(
                individual_number_index=blind_index(individual_number, key=simulator_index_key())
            ).first()
    if entry is None or entry.unknown or not entry.resident_code:
        return "", "individual number not registered in the national resident register"
    if entry.invalidated_at is not None:
        return "", "individual number was invalidated (changed)"
    return entry.resident_code, ""


def pairs_record(model: type[PairT], pairs: Sequence[tuple[str, str]]) -> list[tuple[PairT, bool]]:
    """Pairs stored once by a national peer, under the simulators' index key."""
    return sealed_pairs_record(model, pairs, index_key=simulator_index_key())
