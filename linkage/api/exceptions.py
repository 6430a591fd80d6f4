"""Errors as `application/problem+json` (RFC 9457), with an `errors` list of
{field, code, message}."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from django.http import HttpRequest, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

from ..masking import safe_text

PROBLEM_CONTENT_TYPE = "application/problem+json"

_TYPES = {
    400: "invalid-input",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    413: "body-too-large",
    415: "unsupported-media-type",
    429: "too-many-requests",
    500: "server-error",
    503: "peer-unavailable",
}


class Conflict(exceptions.APIException):
    status_code = 409
    default_detail = "the request conflicts with data already accepted"
    default_code = "conflict"

    def __init__(self, *, field: str, code: str, message: str) -> None:
        super().__init__(message, code)
        self.errors = [{"field": field, "code": code, "message": message}]


class PeerNotReachable(exceptions.APIException):
    """What linkage asks of a national peer for the caller cannot be asked now."""

    status_code = 503
    default_detail = "the intermediate server cannot be reached now; try again later"
    default_code = "intermediate_unavailable"


def problem(
    status: int, errors: list[dict[str, str]], detail: str | None = None, kind: str = ""
) -> dict[str, Any]:
    """The problem document (`kind`: its type, if not the status's own). Every error's field
    and message pass linkage.masking once more here, the one place every API error goes
    through: no answer repeats what looks like an individual number, nor a character that
    cannot be encoded."""
    errors = [
        {
            "field": safe_text(error["field"]),
            "code": error["code"],
            "message": safe_text(error["message"]),
        }
        for error in errors
    ]
    detail = safe_text(detail) if detail else None
    title = HTTPStatus(status).phrase
    return {
        "type": f"urn:linkage:problem:{kind or _TYPES.get(status, 'error')}",
        "title": title,
        "status": status,
        "detail": detail or (errors[0]["message"] if errors else title),
        "errors": errors,
    }


def flatten_errors(detail: Any, prefix: str = "") -> list[dict[str, str]]:
    """DRF's nested error structure as a flat list; nested fields are joined with dots."""
    if isinstance(detail, dict):
        flat: list[dict[str, str]] = []
        for key, value in detail.items():
            name = "" if key in ("non_field_errors", "detail", "__all__") else str(key)
            flat.extend(
                flatten_errors(value, f"{prefix}.{name}" if prefix and name else prefix or name)
            )
        return flat
    if isinstance(detail, list):
        flat = []
        for item in detail:
            flat.extend(flatten_errors(item, prefix))
        return flat
    code = getattr(detail, "code", None) or "invalid"
    return [{"field": prefix, "code": str(code), "message": str(detail)}]


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    response = exception_handler(exc, context)
    if response is None:
        return None
    _refusal_record(exc, context)
    if isinstance(exc, Conflict):
        errors = exc.errors
    elif isinstance(exc, exceptions.ValidationError):
        errors = flatten_errors(exc.detail)
    else:
        detail = getattr(exc, "detail", str(exc))
        errors = [
            {"field": "", "code": str(getattr(detail, "code", "error")), "message": str(detail)}
        ]
    headers = {
        key: value
        for key, value in response.items()
        if key in ("WWW-Authenticate", "Retry-After", "Allow")
    }
    return Response(
        problem(response.status_code, errors),
        status=response.status_code,
        headers=headers,
        content_type=PROBLEM_CONTENT_TYPE,
    )


def _refusal_record(exc: Exception, context: dict[str, Any]) -> None:
    """Failed authentications and refused permissions go to the access audit."""
    from ..models import AccessAction, AccessOutcome
    from ..services.audit import access_record

    request = context.get("request")
    if request is None:
        return
    if isinstance(exc, exceptions.AuthenticationFailed | exceptions.NotAuthenticated):
        access_record(
            action=AccessAction.API_AUTH_FAILED,
            outcome=AccessOutcome.DENIED,
            request=request._request,  # the Django request: DRF's would authenticate again
            criteria={"code": str(getattr(exc.detail, "code", exc.default_code))},
        )
    elif isinstance(exc, exceptions.PermissionDenied):
        access_record(action=AccessAction.API_READ, outcome=AccessOutcome.DENIED, request=request)


def problem_response(status: int, code: str, message: str, kind: str = "") -> JsonResponse:
    return JsonResponse(
        problem(status, [{"field": "", "code": code, "message": message}], kind=kind),
        status=status,
        content_type=PROBLEM_CONTENT_TYPE,
        json_dumps_params={"ensure_ascii": False},
    )


def api_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return problem_response(404, "not_found", "no such API endpoint")


def api_server_error(request: HttpRequest) -> JsonResponse:
    return problem_response(500, "server_error", "the server could not process the request")


def api_database_unavailable(request: HttpRequest) -> JsonResponse:
    return problem_response(
        503,
        "database_unavailable",
        "the linkage server's database cannot be reached now; send the request again later "
        "(an address change sent again with the same event_id is stored once)",
        kind="database-unavailable",
    )
