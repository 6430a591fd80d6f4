"""`GET /metrics` in the Prometheus text format, for the municipality's monitoring.

Two kinds of figures:

- **The work's state**, the installation's shared reading of the database (at most
  DASHBOARD_REFRESH_SECONDS old, so every web process answers the same and no scrape counts
  a city's tables) and the broker's queues: code requests by status and stage, the oldest
  `requesting` one's age, notices pending and failing, the last check of the access
  records' chain, and the depth of each Celery queue. Address changes received are counted
  by the requests' figures (`endpoint="api-address-changes"`, by status) and by the bulk
  import's summary line.
- **Requests per endpoint** (rate, latency, status), counted by `RequestMetricsMiddleware`.
  Under gunicorn with several workers, set PROMETHEUS_MULTIPROC_DIR (gunicorn.conf.py
  clears it at start and marks exited workers) so the scrape sums every worker.

Reachable from METRICS_ALLOWED_ADDRESSES (loopback by default) or with
`Authorization: Bearer <METRICS_TOKEN>`; never any person's data.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time
from collections.abc import Callable, Iterator

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from .selectors import work_figures

REQUEST_SECONDS = Histogram(
    "linkage_http_request_duration_seconds",
    "HTTP requests by endpoint (URL name), method and status, with their latency",
    ["endpoint", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


class WorkCollector(Collector):
    """The state of linkage's work, read at scrape time. A database that cannot be reached
    leaves its figures out (`linkage_database_up` 0), not the whole scrape: the requests'
    latencies and the queues are what an operator reads during an outage."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            read = list(self._database_figures())
        except (OperationalError, InterfaceError):
            read = []
        yield GaugeMetricFamily(
            "linkage_database_up",
            "1 when the database answered this scrape, 0 when it could not be reached",
            value=1.0 if read else 0.0,
        )
        yield from read
        depth = GaugeMetricFamily(
            "linkage_queue_messages", "Messages waiting in each Celery queue", labels=["queue"]
        )
        for queue, count in _queue_depths().items():
            depth.add_metric([queue], count)
        yield depth

    def _database_figures(self) -> Iterator[GaugeMetricFamily]:
        # The database is asked each scrape; the figures are the installation's shared
        # reading, at most DASHBOARD_REFRESH_SECONDS old (linkage.selectors.work_figures).
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        figures = work_figures()
        requests = GaugeMetricFamily(
            "linkage_code_requests", "Code requests by status and stage", labels=["status", "stage"]
        )
        for (status, stage), count in sorted(figures.request_counts.items()):
            requests.add_metric([status, stage], count)
        yield requests

        oldest = figures.oldest_requesting_since
        yield GaugeMetricFamily(
            "linkage_code_request_oldest_requesting_seconds",
            "Age of the oldest code request still requesting (0 when none)",
            value=(timezone.now() - oldest).total_seconds() if oldest else 0.0,
        )

        notices = GaugeMetricFamily(
            "linkage_notices",
            "Notices by state (failing: pending after a failed attempt)",
            labels=["state"],
        )
        notices.add_metric(["pending"], figures.pending_notices)
        notices.add_metric(["failing"], figures.failing_notices)
        yield notices

        yield GaugeMetricFamily(
            "linkage_screening_due",
            "New persons without an individual number still to be screened again after commit",
            value=figures.screening_due,
        )

        chain = figures.audit_chain
        if chain is not None:
            yield GaugeMetricFamily(
                "linkage_audit_chain_holds",
                "1 when the last check of the access records' chain found it whole, 0 broken",
                value=1.0 if chain.holds else 0.0,
            )
            yield GaugeMetricFamily(
                "linkage_audit_chain_verified_records",
                "Access records the last check of the chain read",
                value=chain.records,
            )
            yield GaugeMetricFamily(
                "linkage_audit_chain_verified_timestamp_seconds",
                "When the access records' chain was last checked (Unix time)",
                value=chain.verified_at.timestamp(),
            )


def _queue_depths() -> dict[str, int]:
    """Each configured queue's depth, asked of the broker (passive declare: nothing made)."""
    from config.celery import app

    found: dict[str, int] = {}
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            channel = conn.default_channel
            for name in sorted(app.amqp.queues):
                try:
                    found[name] = channel.queue_declare(queue=name, passive=True).message_count
                except Exception:
                    found[name] = 0
    except Exception:
        return {}
    return found


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REQUEST_SECONDS)
    registry.register(WorkCollector())
    return registry


def _allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(
        address in ipaddress.ip_network(allowed, strict=False)
        for allowed in settings.METRICS_ALLOWED_ADDRESSES
    )


def metrics(request: HttpRequest) -> HttpResponse:
    if request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET"})
    if not _allowed(request):
        return HttpResponse(
            "metrics are served to the configured addresses or with the metrics token\n",
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)


class RequestMetricsMiddleware:
    """Times every request and counts it under its URL name (never its path: a path may
    carry an integrated number, and names keep the label set small)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        endpoint = match.view_name if match is not None and match.view_name else "unresolved"
        REQUEST_SECONDS.labels(endpoint, request.method or "", str(response.status_code)).observe(
            time.perf_counter() - started
        )
        return response
