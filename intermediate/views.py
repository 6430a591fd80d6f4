"""HTTP endpoints of the simulated national side. Each peer has its own prefix (see urls.py)
and is reached only over HTTP, so a real connector can replace it by configuration."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from primitives.numbers import (
    is_valid_individual_number,
    is_valid_integrated_number,
    is_valid_lg_code,
)
from primitives.sealed import EncryptedIndividualNumber

from . import tasks
from .models import CodeAcquisitionFileRequest, CommunicationForward, GatewayEntry, NationalInquiry
from .services import (
    Refused,
    code_acquisition_file_accept,
    code_acquisition_file_entries,
    code_acquisition_file_release,
    code_status_inquire,
    code_store,
    network_answer_record,
    network_serial_issue,
    pair_record,
    serial_number_request_accept,
)
from .simulation import INSTITUTION, NETWORK, simulated

SERIAL = re.compile(r"[A-Z0-9]{1,32}")
KEY = re.compile(r"[\x21-\x7e]{1,100}")
MAX_FILE_ENTRIES = 5000


def json_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Parses a JSON object body; a Refused error becomes its 4xx answer."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            if request.method == "POST":
                body = json.loads(request.body or b"{}")
                if not isinstance(body, dict):
                    raise Refused(400, "invalid", "the body must be a JSON object")
                kwargs["body"] = body
            return view(request, *args, **kwargs)
        except ValueError:
            return JsonResponse(
                {"code": "malformed_json", "detail": "the body is not JSON"}, status=400
            )
        except Refused as refused:
            return JsonResponse(
                {"code": refused.code, "detail": refused.detail}, status=refused.status
            )

    return csrf_exempt(wrapper)


def field(body: dict[str, Any], name: str, check: Callable[[str], object]) -> str:
    """A string field that passes `check` (a predicate or a regex's fullmatch)."""
    value = body.get(name)
    if not isinstance(value, str) or not check(value):
        raise Refused(400, "invalid", f"{name} is missing or malformed")
    return value


def own_lg_code(request: HttpRequest, body: dict[str, Any]) -> str:
    """The body's lg_code, which must be the calling institution's own."""
    lg_code = field(body, "lg_code", is_valid_lg_code)
    if lg_code != request.caller_lg_code:  # type: ignore[attr-defined]
        raise Refused(403, "wrong_institution", "an institution may only ask for itself")
    return lg_code


def numbers(body: dict[str, Any], name: str) -> list[str]:
    values = body.get(name)
    if (
        not isinstance(values, list)
        or not 0 < len(values) <= MAX_FILE_ENTRIES
        or not all(isinstance(v, str) and is_valid_integrated_number(v) for v in values)
    ):
        raise Refused(
            400, "invalid", f"{name} must be a list of 1 to {MAX_FILE_ENTRIES} integrated numbers"
        )
    return values


# --- 中間サーバー 3 -------------------------------------------------------------------------


@require_POST
@json_view
@simulated("intermediate")
def serial_number_requests(request: HttpRequest, body: dict[str, Any]) -> HttpResponse:
    accepted, created = serial_number_request_accept(
        lg_code=own_lg_code(request, body),
        integrated_number=field(body, "integrated_number", is_valid_integrated_number),
        individual_number=field(body, "individual_number", is_valid_individual_number),
        idempotency_key=field(body, "idempotency_key", KEY.fullmatch),
    )
    if created:
        transaction.on_commit(lambda: tasks.network_serial_obtain.delay(accepted.pk))
    return JsonResponse({"status": accepted.status}, status=202 if created else 200)


@require_POST
@json_view
@simulated("intermediate")
def code_acquisition_files(request: HttpRequest, body: dict[str, Any]) -> HttpResponse:
    file = code_acquisition_file_accept(
        lg_code=own_lg_code(request, body),
        integrated_numbers=numbers(body, "integrated_numbers"),
        idempotency_key=field(body, "idempotency_key", KEY.fullmatch),
    )
    return JsonResponse({"reception_number": file.reception_number}, status=201)


@require_http_methods(["GET", "DELETE"])
@json_view
@simulated("intermediate")
def code_acquisition_file(request: HttpRequest, reception_number: str) -> HttpResponse:
    """S32-S33: the file, to the institution that requested it only (another institution's
    reception number is unknown to it), until that institution releases it (DELETE) after
    sending every entry on; then its individual numbers are dropped and it is gone (410)."""
    file = CodeAcquisitionFileRequest.objects.filter(
        reception_number=reception_number,
        lg_code=request.caller_lg_code,  # type: ignore[attr-defined]
    ).first()
    if file is None:
        raise Refused(404, "unknown_reception_number", "no file has this reception number")
    if request.method == "DELETE":
        code_acquisition_file_release(file)
        return HttpResponse(status=204)
    if file.released_at is not None:
        raise Refused(410, "released", "this file was released by its requester")
    entries = code_acquisition_file_entries(file)
    if entries is None:
        response = JsonResponse(
            {"status": "not_ready", "detail": "serial numbers are pending"}, status=202
        )
        response["Retry-After"] = "1"
        return response
    return JsonResponse(
        {
            "reception_number": file.reception_number,
            "entries": [
                {
                    "integrated_number": entry.integrated_number,
                    "processing_serial_number": entry.processing_serial_number,
                    "individual_number": entry.individual_number,
                }
                for entry in entries
            ],
        }
    )


@require_POST
@json_view
@simulated("intermediate", callers=(NETWORK,))
def codes(request: HttpRequest, body: dict[str, Any]) -> HttpResponse:
    code_store(
        processing_serial_number=field(body, "processing_serial_number", SERIAL.fullmatch),
        code=str(body.get("code") or ""),
        error=str(body.get("error") or ""),
    )
    return JsonResponse({"status": "stored"})


@require_POST
@json_view
@simulated("intermediate")
def code_status_inquiries(request: HttpRequest, body: dict[str, Any]) -> HttpResponse:
    results = code_status_inquire(
        lg_code=own_lg_code(request, body),
        integrated_numbers=numbers(body, "integrated_numbers"),
    )
    return JsonResponse({"results": results})


# --- 情報提供ネットワークシステム 4 -----------------------------------------------------------


@require_POST
@json_view
@simulated("network", callers=(NETWORK,))
def network_serial_numbers(request: HttpRequest, body: dict[str, Any]) -> HttpResponse:
    serial = network_serial_issue(
        lg_code=field(body, "lg_code", is_valid_lg_code),
        integrated_number=field(body, "integrated_number", is_valid_integrated_number),
        request_key=field(body, "request_key", KEY.fullmatch),
    )
    return JsonResponse({"processing_serial_number": serial.processing_serial_number}, status=201)


@require_POST
@json_view
@simulated("network", callers=(NETWORK,))
def network_resident_codes(request: HttpRequest, body: dict[str, Any]) -> HttpResponse:
    serial = network_answer_record(
        processing_serial_number=field(body, "processing_serial_number", SERIAL.fullmatch),
        resident_code=str(body.get("resident_code") or ""),
        error=str(body.get("error") or ""),
    )
    transaction.on_commit(lambda: tasks.network_answer_deliver.delay(serial.pk))
    return JsonResponse({"status": "accepted"}, status=202)


# --- 住基全国サーバー 5, コミュニケーションサーバー 44, 住基GWサーバー 244 -----------------------


def pair_receiver(
    name: str,
    model: type[EncryptedIndividualNumber],
    then: Callable[[int], None],
    callers: tuple[str, ...],
) -> Callable[..., HttpResponse]:
    """A peer that stores a (processing serial number, individual number) pair once and
    passes it on asynchronously."""

    @require_POST
    @json_view
    @simulated(name, callers=callers)
    def receive(request: HttpRequest, body: dict[str, Any]) -> HttpResponse:
        row, created = pair_record(
            model,
            processing_serial_number=field(body, "processing_serial_number", SERIAL.fullmatch),
            individual_number=field(body, "individual_number", is_valid_individual_number),
        )
        if created:
            transaction.on_commit(lambda: then(row.pk))
        return JsonResponse({"status": "accepted"}, status=202 if created else 200)

    return receive


national_inquiries = pair_receiver(
    "national", NationalInquiry, lambda pk: tasks.national_inquiry_answer.delay(pk), (NETWORK,)
)
cs_forwards = pair_receiver(
    "cs",
    CommunicationForward,
    lambda pk: tasks.pair_forward.delay(
        "intermediate.CommunicationForward", pk, "national", "inquiries"
    ),
    (NETWORK,),
)
gateway_entries = pair_receiver(
    "gateway",
    GatewayEntry,
    lambda pk: tasks.pair_forward.delay("intermediate.GatewayEntry", pk, "cs", "forwards"),
    (INSTITUTION,),
)
