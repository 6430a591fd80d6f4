"""The API speaks English whatever the browser-facing language settings are.

The screens are Japanese first (LANGUAGE_CODE "ja", LocaleMiddleware), but the API is a
contract other vendors code against (docs/api.md): every message, DRF's own included, is
English, so a client never sees half-translated problem details.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import translation

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
