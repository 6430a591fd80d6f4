"""HTTP endpoints of the simulated national side. Each peer has its own prefix (see urls.py)
and is reached only over HTTP, so a real connector can replace it by configuration."""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any, TypeVar

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from primitives.http import PeerUnavailable
from primitives.json_safe import json_loads
from primitives.numbers import (
    is_valid_individual_number,
    is_valid_integrated_number,
    is_valid_lg_code,
)
from primitives.sealed import EncryptedIndividualNumber

from . import exchange, tasks
from .models import CodeAcquisitionFileRequest, CommunicationForward, GatewayEntry, NationalInquiry
from .services import (
    CodeAnswer,
    CopyItem,
    Refused,
    ResidentCodeAnswer,
    SerialIssueItem,
    SerialRequestItem,
    code_acquisition_file_accept,
    code_acquisition_file_entries,
    code_acquisition_file_release,
    code_status_inquire,
    codes_store,
    copies_store,
    network_answers_record,
    network_serials_issue,
    pairs_record,
    serial_number_requests_accept,
)
from .simulation import INSTITUTION, NETWORK, simulated

SERIAL = re.compile(r"[A-Z0-9]{1,32}")
KEY = re.compile(r"[\x21-\x7e]{1,100}")
MAX_FILE_ENTRIES = 5000
MAX_BATCH = MAX_FILE_ENTRIES


def json_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Parses a JSON object body; a Refused error becomes its 4xx answer."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            if request.method == "POST":
                body = json_loads(request.body or b"{}")
                if not isinstance(body, dict):
                    raise Refused(400, "invalid", "the body must be a JSON object")
                kwargs["body"] = body
            return view(request, *args, **kwargs)
        except PeerUnavailable:
            # The next peer behind this one is down: the caller tries again later.
            return JsonResponse(
                {"code": "peer_unavailable", "detail": "the next peer cannot be reached now"},
                status=503,
            )
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


# --- batches ---------------------------------------------------------------------------------
# Every hop of the chain takes a batch: a body with a list (`requests`, `entries`, `answers`,
# `codes`) of up to MAX_BATCH items is answered 200 with `results`, one per item in order, each
# with its `status` (`refused` with `code` and `detail` for an item that is not taken, which
# never fails the others). A body without the list is one item, answered as before batches.

ItemT = TypeVar("ItemT")
Outcome = tuple[dict[str, Any], bool] | Refused  # (the item's answer, whether it is new)


def batch_answer(
    body: dict[str, Any],
    name: str,
    parse: Callable[[dict[str, Any]], ItemT],
    handle: Callable[[list[ItemT]], Sequence[Outcome]],
    *,
    created_status: int,
    repeat_status: int = 200,
) -> HttpResponse:
    """Parse each item (a malformed one is refused alone), `handle` the valid ones together,
    and answer the batch, or the single item as a single request is answered."""
    batched = name in body
    raw = body[name] if batched else [body]
    if not (
        isinstance(raw, list)
        and 0 < len(raw) <= MAX_BATCH
        and all(isinstance(item, dict) for item in raw)
    ):
        raise Refused(400, "invalid", f"{name} must be a list of 1 to {MAX_BATCH} objects")
    parsed: list[ItemT | Refused] = []
    for item in raw:
        try:
            parsed.append(parse(item))
        except Refused as refused:
            parsed.append(refused)
    valid = [item for item in parsed if not isinstance(item, Refused)]
    handled = iter(handle(valid) if valid else ())
    outcomes = [item if isinstance(item, Refused) else next(handled) for item in parsed]
    if not batched:
        (outcome,) = outcomes
        if isinstance(outcome, Refused):
            raise outcome
        answer, created = outcome
        return JsonResponse(answer, status=created_status if created else repeat_status)
    return JsonResponse(
        {
            "results": [
                {"status": "refused", "code": outcome.code, "detail": outcome.detail}
                if isinstance(outcome, Refused)
                else outcome[0]
                for outcome in outcomes
            ]
        }
    )


def after_commit_ids(task: Any, ids: list[int]) -> None:
    """The next hop's task for the rows this request created, once they are committed."""
    if ids:
        transaction.on_commit(lambda: task.delay(ids))


# --- 中間サーバー 3 -------------------------------------------------------------------------


def _serial_request(item: dict[str, Any]) -> SerialRequestItem:
    return SerialRequestItem(
        integrated_number=field(item, "integrated_number", is_valid_integrated_number),
        individual_number=field(item, "individual_number", is_valid_individual_number),
        idempotency_key=field(item, "idempotency_key", KEY.fullmatch),
    )


@require_POST
@json_view
@simulated("intermediate")
def serial_number_requests(request: HttpRequest, body: dict[str, Any]) -> HttpResponse:
    """S28-S29: `requests` of {integrated_number, individual_number, idempotency_key}."""
    lg_code = own_lg_code(request, body)

    def handle(items: list[SerialRequestItem]) -> list[Outcome]:
        outcomes = serial_number_requests_accept(lg_code=lg_code, items=items)
        after_commit_ids(
            tasks.network_serials_obtain,
            [o[0].pk for o in outcomes if not isinstance(o, Refused) and o[1]],
        )
        return [
            o
            if isinstance(o, Refused)
            else ({"idempotency_key": o[0].idempotency_key, "status": o[0].status}, o[1])
            for o in outcomes
        ]

    return batch_answer(body, "requests", _serial_request, handle, created_status=202)


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


def _code_answer(item: dict[str, Any]) -> CodeAnswer:
    return CodeAnswer(
        processing_serial_number=field(item, "processing_serial_number", SERIAL.fullmatch),
        code=str(item.get("code") or ""),
        error=str(item.get("error") or ""),
    )


DATA_SET = re.compile(r"[a-z][a-z0-9_]{0,63}")
COPY_ID = re.compile(r"[0-9a-f-]{36}")
COPY_OPERATIONS = ("register", "withdraw")


def _date(item: dict[str, Any], name: str, *, required: bool) -> datetime.date | None:
    value = item.get(name)
    if value is None and not required:
        return None
    try:
        return datetime.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        pass
    raise Refused(400, "invalid", f"{name} must be a date (YYYY-MM-DD)")


def _copy(item: dict[str, Any]) -> CopyItem:
    operation = item.get("operation", "register")
    if operation not in COPY_OPERATIONS:
        raise Refused(400, "invalid", "operation must be register or withdraw")
    revision = item.get("revision")
    if not isinstance(revision, int) or isinstance(revision, bool) or revision < 1:
        raise Refused(400, "invalid", "revision must be a positive integer")
    copy = CopyItem(
        copy_id=field(item, "copy_id", COPY_ID.fullmatch),
        revision=revision,
        operation=operation,
        integrated_number=field(item, "integrated_number", is_valid_integrated_number),
        data_set=field(item, "data_set", DATA_SET.fullmatch),
        record_key=field(item, "record_key", KEY.fullmatch),
    )
    if operation == "withdraw":
        return copy
    items = item.get("items")
    if not isinstance(items, dict) or not items:
        raise Refused(400, "invalid", "items must be a non-empty object")
    return dataclasses.replace(
        copy,
        items=items,
        valid_from=_date(item, "valid_from", required=True),
        valid_to=_date(item, "valid_to", required=False),
    )


@require_POST
@json_view
@simulated("intermediate")
def copies(request: HttpRequest, body: dict[str, Any]) -> HttpResponse:
    """副本登録 (DBM): `copies` of {copy_id, revision, operation, integrated_number, data_set,
    record_key, items, valid_from, valid_to}; each answered with its status (registered or
    withdrawn) and the revision held."""
    lg_code = own_lg_code(request, body)

    def handle(items: list[CopyItem]) -> list[Outcome]:
        return [
            o
            if isinstance(o, Refused)
            else (
                {
                    "copy_id": o[0].copy_id,
                    "revision": o[0].revision,
                    "status": "withdrawn" if o[0].withdrawn_at else "registered",
                },
                o[1],
            )
            for o in copies_store(lg_code=lg_code, items=items)
        ]

    return batch_answer(body, "copies", _copy, handle, created_status=201)


@require_POST
@json_view
@simulated("intermediate", callers=(NETWORK,))
def codes(request: HttpRequest, body: dict[str, Any]) -> HttpResponse:
    """S100: `codes` of {processing_serial_number, code or error}."""

    def handle(items: list[CodeAnswer]) -> list[Outcome]:
        return [
            refused or ({"processing_serial_number": item.processing_serial_number,
                         "status": "stored"}, False)
            for item, refused in zip(items, codes_store(items), strict=True)
        ]  # fmt: skip

    return batch_answer(body, "codes", _code_answer, handle, created_status=200)


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


def _serial_issue(item: dict[str, Any]) -> SerialIssueItem:
    return SerialIssueItem(
        lg_code=field(item, "lg_code", is_valid_lg_code),
        integrated_number=field(item, "integrated_number", is_valid_integrated_number),
        request_key=field(item, "request_key", KEY.fullmatch),
    )


@require_POST
@json_view
@simulated("network", callers=(NETWORK,))
def network_serial_numbers(request: HttpRequest, body: dict[str, Any]) -> HttpResponse:
    """S41/S50: `requests` of {lg_code, integrated_number, request_key}."""

    def handle(items: list[SerialIssueItem]) -> list[Outcome]:
        return [
            ({"request_key": serial.request_key, "status": "issued",
              "processing_serial_number": serial.processing_serial_number}, True)
            for serial in network_serials_issue(items)
        ]  # fmt: skip

    return batch_answer(
        body, "requests", _serial_issue, handle, created_status=201, repeat_status=201
    )


def _resident_code_answer(item: dict[str, Any]) -> ResidentCodeAnswer:
    return ResidentCodeAnswer(
        processing_serial_number=field(item, "processing_serial_number", SERIAL.fullmatch),
        resident_code=str(item.get("resident_code") or ""),
        error=str(item.get("error") or ""),
    )


@require_POST
@json_view
@simulated("network", callers=(NETWORK,))
def network_resident_codes(request: HttpRequest, body: dict[str, Any]) -> HttpResponse:
    """S80-S90: `answers` of {processing_serial_number, resident_code or error}."""

    def handle(items: list[ResidentCodeAnswer]) -> list[Outcome]:
        outcomes = network_answers_record(items)
        after_commit_ids(
            tasks.network_answers_deliver,
            sorted({o.pk for o in outcomes if not isinstance(o, Refused)}),
        )
        return [
            o
            if isinstance(o, Refused)
            else ({"processing_serial_number": o.processing_serial_number,
                   "status": "accepted"}, True)
            for o in outcomes
        ]  # fmt: skip

    return batch_answer(body, "answers", _resident_code_answer, handle, created_status=202)


# --- 住基全国サーバー 5, コミュニケーションサーバー 44, 住基GWサーバー 244 -----------------------


def _pair(item: dict[str, Any]) -> tuple[str, str]:
    return (
        field(item, "processing_serial_number", SERIAL.fullmatch),
        field(item, "individual_number", is_valid_individual_number),
    )


def pair_receiver(
    name: str, model: type[EncryptedIndividualNumber], then: Any, callers: tuple[str, ...]
) -> Callable[..., HttpResponse]:
    """A peer that stores (processing serial number, individual number) pairs once each
    (`entries`) and passes the new ones on asynchronously, in one task (`then`)."""

    @require_POST
    @json_view
    @simulated(name, callers=callers)
    def receive(request: HttpRequest, body: dict[str, Any]) -> HttpResponse:
        def handle(pairs: list[tuple[str, str]]) -> list[Outcome]:
            outcomes = pairs_record(model, pairs)
            after_commit_ids(then, [row.pk for row, created in outcomes if created])
            return [
                ({"processing_serial_number": serial, "status": "accepted"}, created)
                for (serial, _), (_, created) in zip(pairs, outcomes, strict=True)
            ]

        return batch_answer(body, "entries", _pair, handle, created_status=202)

    return receive


national_inquiries = pair_receiver(
    "national", NationalInquiry, tasks.national_inquiries_answer, (NETWORK,)
)
cs_forwards = pair_receiver("cs", CommunicationForward, tasks.cs_pairs_forward, (NETWORK,))
gateway_entries = pair_receiver(
    "gateway", GatewayEntry, tasks.gateway_pairs_forward, (INSTITUTION,)
)


# --- 情報照会 / 情報提供 / 情報提供等記録 (SPEC 11) ---------------------------------------------

PROCEDURE = DATA_SET


def _inquiry(item: dict[str, Any]) -> exchange.InquiryItem:
    return exchange.InquiryItem(
        inquiry_id=field(item, "inquiry_id", COPY_ID.fullmatch),
        integrated_number=field(item, "integrated_number", is_valid_integrated_number),
        procedure=field(item, "procedure", PROCEDURE.fullmatch),
        data_set=field(item, "data_set", DATA_SET.fullmatch),
        provider=field(item, "provider", is_valid_lg_code),
    )


@require_POST
@json_view
@simulated("intermediate")
def inquiries(request: HttpRequest, body: dict[str, Any]) -> HttpResponse:
    """情報照会 (SKI): `inquiries` of {inquiry_id, integrated_number, procedure, data_set,
    provider}; each answered with its records, or refused with the reason (outside the table
    of permitted exchanges, a person unknown to the network or the provider, no code here)."""
    lg_code = own_lg_code(request, body)

    def handle(items: list[exchange.InquiryItem]) -> list[Outcome]:
        return [
            o if isinstance(o, Refused) else (exchange.inquiry_answer(o), True)
            for o in exchange.inquiries_ask(lg_code=lg_code, items=items)
        ]

    return batch_answer(body, "inquiries", _inquiry, handle, created_status=200)


@require_GET
@simulated("intermediate")
def exchange_records(request: HttpRequest) -> HttpResponse:
    """情報提供等記録 (TKM) of one person of the calling institution."""
    lg_code = request.GET.get("lg_code", "")
    integrated_number = request.GET.get("integrated_number", "")
    if lg_code != request.caller_lg_code:  # type: ignore[attr-defined]
        return JsonResponse(
            {"code": "wrong_institution", "detail": "an institution may only ask for itself"},
            status=403,
        )
    if not is_valid_integrated_number(integrated_number):
        return JsonResponse(
            {"code": "invalid", "detail": "integrated_number is missing or malformed"}, status=400
        )
    return JsonResponse(
        {"records": exchange.exchange_records(lg_code=lg_code, integrated_number=integrated_number)}
    )


@require_POST
@json_view
@simulated("network", callers=(NETWORK,))
def network_inquiries(request: HttpRequest, body: dict[str, Any]) -> HttpResponse:
    """The network's routing of one inquiry from an intermediate server."""
    inquiry = exchange.NetworkInquiry(
        exchange_id=field(body, "exchange_id", COPY_ID.fullmatch),
        requester=field(body, "requester", is_valid_lg_code),
        code=field(body, "code", KEY.fullmatch),
        procedure=field(body, "procedure", PROCEDURE.fullmatch),
        data_set=field(body, "data_set", DATA_SET.fullmatch),
        provider=field(body, "provider", is_valid_lg_code),
    )
    return JsonResponse(exchange.network_route(inquiry))


@require_POST
@json_view
@simulated("intermediate", callers=(NETWORK,))
def provisions(request: HttpRequest, body: dict[str, Any]) -> HttpResponse:
    """情報提供 (TKY): the network asks the provider's intermediate server, which answers by
    itself from the provider's copies (自動応答)."""
    provision = exchange.Provision(
        exchange_id=field(body, "exchange_id", COPY_ID.fullmatch),
        provider=field(body, "provider", is_valid_lg_code),
        requester=field(body, "requester", is_valid_lg_code),
        code=field(body, "code", KEY.fullmatch),
        procedure=field(body, "procedure", PROCEDURE.fullmatch),
        data_set=field(body, "data_set", DATA_SET.fullmatch),
    )
    return JsonResponse(exchange.provision_answer(provision))
