"""`GET /healthz` (readiness) and `GET /healthz/live` (liveness) for the operators' monitoring.

Readiness checks what linkage needs to do its work: the database, the broker, the cache, the
intermediate server's reachability, the encryption keys, and the access records' last
verification. Each check is timed and named; any failure makes the answer 503 and names it.
Cheap enough for a probe every few seconds: one query, one broker connection from the pool,
one cache round trip, and the intermediate server asked at most every PEER_HEALTH_SECONDS.
No person's data is ever part of the answer.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from primitives.crypto import keyring
from primitives.http import PeerRefused, PeerUnavailable, peer_call

from .masking import mask_number_shaped
from .models import AuditChainVerification

PEER_HEALTH_SECONDS = 10
_PEER_CACHE_KEY = "health:intermediate"


class Unhealthy(Exception):
    pass


def database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


def broker() -> str:
    from config.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        return str(conn.transport_cls)


def cache_round_trip() -> str:
    cache.set("health:probe", "1", timeout=30)
    if cache.get("health:probe") != "1":
        raise Unhealthy("the cache did not keep a value")
    return type(cache).__name__


def intermediate() -> str:
    """Reachable: any HTTP answer (a 4xx too: it answered). Remembered a few seconds in the
    cache; with the cache down it is asked every time (the cache's own check says so)."""
    try:
        known = cache.get(_PEER_CACHE_KEY)
    except Exception:
        known = None
    if known is None:
        url = settings.PEER_URLS["intermediate"]
        try:
            peer_call("GET", url, timeout=2.0)
            known = ""
        except PeerRefused:
            known = ""
        except PeerUnavailable as error:  # its message names the call and why (a redirect)
            known = f"unreachable: {error}"
        except Exception as error:
            known = f"{url} unreachable: {type(error).__name__}"
        with contextlib.suppress(Exception):
            cache.set(_PEER_CACHE_KEY, known, timeout=PEER_HEALTH_SECONDS)
    if known:
        raise Unhealthy(known)
    return "reachable"


def encryption_keys() -> str:
    ring = keyring()
    return f"current key {ring.current_key_id}"


def audit_chain() -> str:
    last = AuditChainVerification.objects.order_by("-verified_at").first()
    if last is None:
        return "not verified yet"
    if not last.holds:
        raise Unhealthy(
            f"the chain was broken at record #{last.broken_record_id} "
            f"({last.verified_at:%Y-%m-%d %H:%M})"
        )
    return f"held at {last.verified_at.isoformat()} ({last.records} records)"


CHECKS: dict[str, Callable[[], str]] = {
    "database": database,
    "broker": broker,
    "cache": cache_round_trip,
    "intermediate_server": intermediate,
    "encryption_keys": encryption_keys,
    "audit_chain": audit_chain,
}


def health_report() -> dict[str, Any]:
    checks: dict[str, dict[str, Any]] = {}
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            detail, ok = check(), True
        except Exception as error:
            detail, ok = f"{type(error).__name__}: {error}", False
        checks[name] = {
            "ok": ok,
            "detail": mask_number_shaped(str(detail))[:300],
            "ms": round((time.perf_counter() - started) * 1000, 1),
        }
    failing = [name for name, result in checks.items() if not result["ok"]]
    return {"status": "fail" if failing else "ok", "failing": failing, "checks": checks}


@never_cache
@require_GET
def readiness(request: HttpRequest) -> JsonResponse:
    report = health_report()
    return JsonResponse(report, status=503 if report["failing"] else 200)


@never_cache
@require_GET
def liveness(request: HttpRequest) -> JsonResponse:
    """The process answers requests; no dependency is asked."""
    return JsonResponse({"status": "ok"})
