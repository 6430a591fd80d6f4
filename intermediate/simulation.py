"""What makes the simulated peers behave like real ones: fault injection and shared handling.

Each simulator reads its SimulatorControl row on every request, so an outage can be switched
on and off while the servers and workers run (`manage.py simulator_control`).
"""

from __future__ import annotations

import hmac
import random
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from config.sandbox import institution_key, network_key

from .models import SimulatorControl

# The business systems' notice receivers, by number system, are simulators too.
BUSINESS_SYSTEM_SIMULATORS = {"01": "jyuki", "02": "tax", "03": "nhi", "04": "welfare"}
SIMULATORS = (
    "intermediate",
    "network",
    "national",
    "cs",
    "gateway",
    *BUSINESS_SYSTEM_SIMULATORS.values(),
)
_random = random.Random()  # noqa: S311 (fault injection, not security)


def fault(name: str) -> HttpResponse | None:
    """The injected fault for this request, or None to serve it normally."""
    control = SimulatorControl.objects.filter(name=name).first()
    if control is None:
        return None
    if control.latency_ms:
        time.sleep(control.latency_ms / 1000)
    if control.unavailable:
        response = JsonResponse({"code": "unavailable", "detail": f"{name} is down"}, status=503)
        response["Retry-After"] = "2"
        return response
    draw = _random.random()
    if draw < control.error_rate:
        return JsonResponse({"code": "injected_error", "detail": f"{name} failed"}, status=500)
    if draw < control.error_rate + control.timeout_rate:
        # Longer than the client's timeout: it gives up waiting, as with a real outage.
        time.sleep(settings.SIMULATED_TIMEOUT_SECONDS)
        return JsonResponse({"code": "injected_timeout"}, status=504)
    return None


INSTITUTION = "institution"
NETWORK = "network"


def institution_keys() -> dict[str, str]:
    """lg_code -> the key that institution presents (configured, or the sandbox's own)."""
    configured = settings.SIMULATOR_INSTITUTION_KEYS
    return configured or {settings.LG_CODE: institution_key(settings.LG_CODE)}


def network_headers() -> dict[str, str]:
    """What a simulated peer presents when it calls another."""
    return {"Authorization": f"Bearer {network_key()}"}


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
    if name not in SIMULATORS:
        raise ValueError(f"unknown simulator {name!r}; known: {', '.join(SIMULATORS)}")
    control, _ = SimulatorControl.objects.update_or_create(name=name, defaults=changes)
    return control
