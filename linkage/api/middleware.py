"""Middleware of the API: the language it speaks, and the bound on what it reads.

The API speaks English whatever the browser-facing language settings are.

The screens are Japanese first (LANGUAGE_CODE "ja", LocaleMiddleware), but the API is a
contract other vendors code against (docs/api.md): every message, DRF's own included, is
English, so a client never sees half-translated problem details.
"""

from __future__ import annotations

import io
from collections.abc import Callable

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, HttpResponse
from django.utils import translation

from .exceptions import problem_response

API_LANGUAGE = "en"


class ApiLanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/api/"):
            return self.get_response(request)
        with translation.override(API_LANGUAGE):
            request.LANGUAGE_CODE = API_LANGUAGE
            return self.get_response(request)


# The paths whose bodies are JSON for programs: the API (and the token endpoints to come).
BOUNDED_PREFIXES = ("/api/",)


class BoundedBodyMiddleware:
    """No API request body over API_MAX_BODY_BYTES is read, whatever the client declares.

    First in the middleware, before anything can touch the body: a declared Content-Length
    over the limit is answered 413 problem+json without reading a byte; a chunked body
    (no Content-Length, which Django would otherwise read as empty) is read to at most the
    limit plus one byte, then handed on as a body of known length, or refused 413.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(BOUNDED_PREFIXES):
            refused = self._bound(request)
            if refused is not None:
                return refused
        return self.get_response(request)

    def _bound(self, request: HttpRequest) -> HttpResponse | None:
        limit = settings.API_MAX_BODY_BYTES
        declared = request.META.get("CONTENT_LENGTH") or ""
        if declared:
            try:
                too_large = int(declared) > limit
            except ValueError:
                return problem_response(
                    400, "bad_content_length", "the Content-Length header is not a number"
                )
            return self._too_large(limit) if too_large else None
        if "chunked" not in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            return None
        source = request.META.get("wsgi.input")
        if source is None:
            return None
        body = bytearray()
        while len(body) <= limit:
            chunk = source.read(limit + 1 - len(body))
            if not chunk:
                break
            body += chunk
        if len(body) > limit:
            return self._too_large(limit)
        request._stream = LimitedStream(io.BytesIO(bytes(body)), len(body))  # type: ignore[assignment]
        request.META["CONTENT_LENGTH"] = str(len(body))
        return None

    @staticmethod
    def _too_large(limit: int) -> HttpResponse:
        response = problem_response(
            413, "body_too_large", f"the request body is larger than {limit} bytes"
        )
        response["Connection"] = "close"  # the rest of the body is never read
        return response
