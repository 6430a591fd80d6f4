"""`POST /oauth/token` and `POST /oauth/introspect` (SPEC 12).

Both take `application/x-www-form-urlencoded` bodies as RFC 6749 says and answer JSON with
`Cache-Control: no-store`; a client authenticates with every request, so no CSRF token or
session applies.
"""

from __future__ import annotations

from collections.abc import Callable

from authlib.oauth2.rfc6749 import InsecureTransportError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .server import server


@csrf_exempt
@require_POST
def token(request: HttpRequest) -> HttpResponse:
    return _over_https(request, server.create_token_response)


@csrf_exempt
@require_POST
def introspect(request: HttpRequest) -> HttpResponse:
    return _over_https(request, lambda r: server.create_endpoint_response("introspection", r))


def _over_https(
    request: HttpRequest, answer: Callable[[HttpRequest], HttpResponse]
) -> HttpResponse:
    """Credentials travel only over TLS (RFC 6749 section 3.2; loopback excepted for the
    sandbox). Behind the reverse proxy, Django sees https through X-Forwarded-Proto."""
    try:
        return answer(request)
    except InsecureTransportError:
        return oauth_error(400, "invalid_request", "OAuth requests must use https")


def oauth_error(status: int, error: str, description: str) -> JsonResponse:
    """An error as RFC 6749 (section 5.2) shapes it, never cached."""
    return JsonResponse(
        {"error": error, "error_description": description},
        status=status,
        headers={"Cache-Control": "no-store"},
    )
