"""The national side's behaviour, one function per step of the seed's figures 6 and 11."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.sandbox import simulator_index_key
from primitives.crypto import blind_index
from primitives.numbers import resident_code_complete
from primitives.sealed import PairT, sealed
from primitives.sealed import pair_record as sealed_pair_record

from .models import (
    CodeAcquisitionFileRequest,
    CodeInformation,
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


def serial_number_request_accept(
    *, lg_code: str, integrated_number: str, individual_number: str, idempotency_key: str
) -> tuple[SerialNumberRequest, bool]:
    """S28-S29: accept a processing-serial-number request. The same idempotency key again
    returns the first request (nothing is passed on twice); a second live request for one
    person is refused."""
    with transaction.atomic():
        existing = SerialNumberRequest.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing, False
        active = SerialNumberRequest.objects.select_for_update().filter(
            lg_code=lg_code, integrated_number=integrated_number, status__in=ACTIVE
        )
        if active.exists():
            raise Refused(
                409, "already_requested", "a code request for this person is in progress or done"
            )
        try:
            with transaction.atomic():
                request = SerialNumberRequest.objects.create(
                    lg_code=lg_code,
                    integrated_number=integrated_number,
                    idempotency_key=idempotency_key,
                    **encrypted(individual_number),
                )
        except IntegrityError:
            return SerialNumberRequest.objects.get(idempotency_key=idempotency_key), False
    return request, True


def serial_number_request_issued(*, request_id: int, processing_serial_number: str) -> None:
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


def code_store(*, processing_serial_number: str, code: str = "", error: str = "") -> None:
    """S100: the network's answer; integrated number <-> code into table 46, or the error."""
    with transaction.atomic():
        request = (
            SerialNumberRequest.objects.select_for_update()
            .filter(processing_serial_number=processing_serial_number)
            .first()
        )
        if request is None:
            raise Refused(404, "unknown_serial", "no request has this processing serial number")
        if error:
            if request.status != SerialNumberRequest.Status.ACQUIRED:
                request.status = SerialNumberRequest.Status.ERROR
                request.error_reason = error[:200]
                request.save(update_fields=["status", "error_reason", "updated_at"])
            return
        CodeInformation.objects.get_or_create(
            lg_code=request.lg_code,
            integrated_number=request.integrated_number,
            defaults={"code": code},
        )
        request.status = SerialNumberRequest.Status.ACQUIRED
        request.save(update_fields=["status", "updated_at"])


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


# --- 情報提供ネットワークシステム 4 -----------------------------------------------------------


def network_serial_issue(
    *, lg_code: str, integrated_number: str, request_key: str
) -> NetworkSerial:
    """S41/S50: issue a processing serial number; the same request key gets the same one."""
    serial, _ = NetworkSerial.objects.get_or_create(
        request_key=request_key,
        defaults={
            "processing_serial_number": f"P{secrets.randbelow(10**15):015d}",
            "lg_code": lg_code,
            "integrated_number": integrated_number,
        },
    )
    return serial


def code_derive(*, lg_code: str, resident_code: str) -> str:
    """SPEC 4.4: a keyed one-way function of (lg_code, resident code); differs per municipality
    and cannot be computed from the individual number."""
    secret = settings.NETWORK_CODE_SECRET.encode("utf-8")
    return hmac.new(
        secret, f"{lg_code}:{resident_code}".encode("ascii"), hashlib.sha256
    ).hexdigest()[:32]


def network_answer_record(
    *, processing_serial_number: str, resident_code: str = "", error: str = ""
) -> NetworkSerial:
    """S90: the national server's answer arrives; derive the code (or keep the error)."""
    with transaction.atomic():
        serial = (
            NetworkSerial.objects.select_for_update()
            .filter(processing_serial_number=processing_serial_number)
            .first()
        )
        if serial is None:
            raise Refused(404, "unknown_serial", "no such processing serial number")
        if serial.answered_at is None:
            if resident_code:
                serial.code = code_derive(lg_code=serial.lg_code, resident_code=resident_code)
            else:
                serial.error_reason = error[:200] or "unknown error"
            serial.answered_at = timezone.now()
            serial.save(update_fields=["code", "error_reason", "answered_at"])
    return serial


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


def pair_record(
    model: type[PairT], *, processing_serial_number: str, individual_number: str
) -> tuple[PairT, bool]:
    """A pair stored once by a national peer, under the simulators' index key."""
    return sealed_pair_record(
        model,
        processing_serial_number=processing_serial_number,
        individual_number=individual_number,
        index_key=simulator_index_key(),
    )
