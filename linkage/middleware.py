"""Ends a signed-in session that has been idle too long (OWASP ASVS V3.3)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

LAST_ACTIVITY = "linkage_last_activity"
RESOLUTION_SECONDS = 60


class IdleSessionMiddleware:
    """Sign the user out after SESSION_IDLE_SECONDS without a request of theirs.

    The dashboard's automatic refresh (an htmx request with `HX-Trigger` from a poll) is
    not activity: a screen left open must still time out.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not request.path.startswith("/api/"):
            now = time.time()
            last = request.session.get(LAST_ACTIVITY, 0.0)
            if now - last > settings.SESSION_IDLE_SECONDS:
                logout(request)
                messages.info(request, _("一定時間操作がなかったため、サインアウトしました。"))
                return redirect_to_login(request.get_full_path())
            if not _automatic(request) and now - last > RESOLUTION_SECONDS:
                # Written at most once a minute: a session save on every request would cost
                # a database write per page.
                activity_mark(request.session, now)
        return self.get_response(request)


def activity_mark(session: SessionBase, now: float | None = None) -> None:
    session[LAST_ACTIVITY] = time.time() if now is None else now


def _automatic(request: HttpRequest) -> bool:
    """A request the page made by itself: htmx's periodic refresh of the dashboard."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-Trigger") == "dashboard-figures"
    )
