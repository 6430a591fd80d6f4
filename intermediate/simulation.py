"""What makes the simulated peers behave like real ones: fault injection and shared handling.

Each simulator reads its SimulatorControl row on every request, so an outage can be switched
on and off while the servers and workers run (`manage.py simulator_control`).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from config.sandbox import institution_key, network_key
from primitives.faults import fault_control_set, injected_fault

from .models import SimulatorControl

SIMULATORS = ("intermediate", "network", "national", "cs", "gateway")


def fault(name: str) -> HttpResponse | None:
    """The injected fault for this request, or None to serve it normally."""
    return injected_fault(SimulatorControl, name)


INSTITUTION = "institution"
NETWORK = "network"


def institution_keys() -> dict[str, str]:
    """lg_code -> the key that institution presents (configured, or the sandbox's own)."""
    configured = settings.SIMULATOR_INSTITUTION_KEYS
    return configured or {settings.LG_CODE: institution_key(settings.LG_CODE)}


def caller_of(request: HttpRequest, callers: tuple[str, ...]) -> tuple[str, str] | None:
    """(kind, lg_code) of an authenticated caller of one of the `callers` kinds, else None.
    An institution is known by its key, as the closed network knows it by its certificate."""
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key:
        return None
    if NETWORK in callers and hmac.compare_digest(key.encode(), network_key().encode()):
        return NETWORK, ""
    if INSTITUTION in callers:
        for lg_code, expected in institution_keys().items():
            if hmac.compare_digest(key.encode(), expected.encode()):
                return INSTITUTION, lg_code
    return None


def simulated(
    name: str, *, callers: tuple[str, ...] = (INSTITUTION,)
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Decorates a simulator view: its caller must authenticate as one of `callers` (401
    otherwise; `request.caller_lg_code` names an institution), then its fault injection."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            caller = caller_of(request, callers)
            if caller is None:
                response = JsonResponse(
                    {"code": "unauthenticated", "detail": f"{name} needs a caller's key"},
                    status=401,
                )
                response["WWW-Authenticate"] = "Bearer"
                return response
            request.caller_lg_code = caller[1]  # type: ignore[attr-defined]
            return fault(name) or view(request, *args, **kwargs)

        return wrapper

    return decorate


def simulator_control_set(name: str, **changes: Any) -> SimulatorControl:
    return fault_control_set(SimulatorControl, SIMULATORS, name, **changes)
