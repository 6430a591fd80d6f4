"""Error pages: problem+json under /api/, Django's defaults elsewhere; and a database that
cannot be reached answered as unavailable for now (503 with Retry-After), not as a failure."""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.views import defaults

from linkage.api.exceptions import api_database_unavailable, api_not_found, api_server_error
from linkage.oauth.views import oauth_error

# A restart or a failover of PostgreSQL takes seconds to a minute: when to try again.
DATABASE_RETRY_AFTER_SECONDS = 30
UNAVAILABLE_PAGE_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        return api_not_found(request, exception)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """Django calls this inside the `except` of the request's uncaught exception, wherever
    it was raised (a view, a middleware, the session or the key lookup), so the exception
    is `sys.exc_info()`'s. A lost or refused database connection, a deadlock or a cancelled
    statement (`OperationalError`, `InterfaceError`) is the database being unavailable: the
    caller may try again. Django still logs it at ERROR with its traceback."""
    if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        return database_unavailable(request)
    if request.path.startswith("/api/"):
        return api_server_error(request)
    return defaults.server_error(request)


def database_unavailable(request: HttpRequest) -> HttpResponse:
    """The page (or problem) for a database that cannot be reached: rendered without the
    request's context, which would read the session and the user from that database."""
    if request.path.startswith("/api/"):
        response: HttpResponse = api_database_unavailable(request)
    elif request.path.startswith("/oauth/"):  # an OAuth client reads RFC 6749's error shape
        response = oauth_error(
            503, "temporarily_unavailable", "the database cannot be reached now; ask again later"
        )
    else:
        response = HttpResponse(loader.get_template("503.html").render(), status=503)
        # Its own policy: the failure may have come from a middleware outside django-csp's,
        # whose header would then be missing. The page loads its stylesheet and icon only.
        response["Content-Security-Policy"] = UNAVAILABLE_PAGE_POLICY
    response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response
