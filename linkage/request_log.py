"""One log line per HTTP request, with the request id every other line of the request (and of
the tasks it causes) carries: method, path, view, status, duration, actor and outcome.

The path is logged without its query string: a search's query holds a name or a birth date.
The id comes from the reverse proxy's `X-Request-ID` when it sent one, and is answered in the
response's `X-Request-ID`, so a clerk's complaint and a vendor's failed call can be found by
it (primitives.request_context).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.functional import LazyObject, empty

from primitives.request_context import (
    REQUEST_ID_HEADER,
    actor,
    actor_set,
    request_context,
    request_id_accept,
)

from .models import BackboneClient

logger = logging.getLogger("linkage.request")


def actor_of(user: Any) -> str:
    """Who a request acts for, never a person's data: a backbone client or a staff user."""
    if isinstance(user, BackboneClient):
        return f"client#{user.pk} ({user.number_system})"
    if user is not None and getattr(user, "is_authenticated", False):
        return f"user:{user.get_username()}"
    return ""


def user_read(request: HttpRequest) -> Any:
    """The request's user if something has read it already, else None: reading it here would
    read the session, and with it the database, for a log line (the database may be the
    reason the request failed)."""
    user = getattr(request, "user", None)
    if isinstance(user, LazyObject) and user._wrapped is empty:
        return None
    return user


def authenticated(user: Any) -> None:
    """Authentication has said who acts: from now on, lines and tasks carry it."""
    actor_set(actor_of(user))


def outcome_of(status: int) -> str:
    if status >= 500:
        return "failed"
    return "refused" if status >= 400 else "ok"


class RequestLogMiddleware:
    """Outermost: the request id holds for everything the request does."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_accept(request.headers.get(REQUEST_ID_HEADER))
        started = time.perf_counter()
        with request_context(request_id):
            response = self.get_response(request)
            match = getattr(request, "resolver_match", None)
            status = response.status_code
            logger.info(
                "%s %s %s",
                request.method,
                request.path,
                status,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "view": match.view_name if match is not None else "",
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "outcome": outcome_of(status),
                    "actor": actor() or actor_of(user_read(request)),
                },
            )
        response[REQUEST_ID_HEADER] = request_id
        return response

    def process_view(self, request: HttpRequest, *args: Any) -> None:
        """A signed-in clerk is known once the session is read (before the view runs)."""
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            authenticated(user)
