"""JSON over HTTP between linkage and its peers, with the failure kinds the callers act on.

PeerUnavailable: the peer could not answer (connection refused, timeout, 5xx, or a redirect:
the configured URL is not where it answers): try later.
PeerRefused: the peer answered 4xx: trying the same request again will not help.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, TypeVar

import httpx
from django.db import InterfaceError, OperationalError

from .json_safe import json_loads

logger = logging.getLogger(__name__)
RowT = TypeVar("RowT")

DEFAULT_TIMEOUT = 10.0


class PeerUnavailable(Exception):
    def __init__(
        self, message: str, *, retry_after: float | None = None, answer: PeerAnswer | None = None
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.answer = answer  # the peer's 5xx or 429 answer, if it answered at all


class PeerRefused(Exception):
    def __init__(self, message: str, *, status: int, body: dict[str, Any]) -> None:
        super().__init__(message)
        self.status = status
        self.body = body

    @property
    def code(self) -> str:
        errors = self.body.get("errors") or [{}]
        return str(errors[0].get("code") or self.body.get("code") or "refused")


@dataclass(frozen=True)
class PeerAnswer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def retry_after(self) -> float:
        try:
            return max(float(self.headers.get("retry-after", "1")), 0.1)
        except ValueError:
            return 1.0


_pooled_clients: list[httpx.Client] = []


@cache
def _client(pid: int) -> httpx.Client:
    """One pooled client per process (keyed by pid: Celery's prefork children get their own)."""
    client = httpx.Client(timeout=DEFAULT_TIMEOUT, headers={"Accept": "application/json"})
    _pooled_clients.append(client)
    return client


def peer_call(
    method: str,
    url: str,
    payload: dict[str, Any] | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
) -> PeerAnswer:
    """One request with a JSON `payload` (or raw `content`, e.g. a signed body); 2xx comes
    back as a PeerAnswer, anything else raises."""
    try:
        response = _client(os.getpid()).request(
            method,
            url,
            json=payload if content is None else None,
            content=content,
            timeout=timeout,
            headers=headers,
        )
    except httpx.HTTPError as error:
        raise PeerUnavailable(f"{method} {url}: {type(error).__name__}") from error
    try:
        body = json_loads(response.content) if response.content else {}
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {"items": body}
    answer = PeerAnswer(response.status_code, body, dict(response.headers))
    if 300 <= response.status_code < 400:
        # Not followed (a signed notice or a person's data goes to the configured address
        # only), and not taken for an answer: the request did not reach the peer's service.
        # Its URL needs correcting (often http:// where the peer serves https://).
        raise PeerUnavailable(
            f"{method} {url}: {response.status_code} redirect, not followed: "
            "configure the URL the peer answers at",
            answer=answer,
        )
    if response.status_code >= 500 or response.status_code == 429:
        raise PeerUnavailable(
            f"{method} {url}: {response.status_code}",
            retry_after=answer.retry_after if "retry-after" in response.headers else None,
            answer=answer,
        )
    if response.status_code >= 400:
        raise PeerRefused(
            f"{method} {url}: {response.status_code}", status=response.status_code, body=body
        )
    return answer


def peer_connections_close() -> None:
    """Close every pooled connection (the next call opens new ones)."""
    for client in list(_pooled_clients):
        client.close()
    _pooled_clients.clear()
    _client.cache_clear()


# How a Celery task that calls a peer retries while the peer is unavailable: late
# acknowledgement (a killed worker's task runs again), exponential backoff with jitter.
def peer_batch_post(
    url: str,
    key: str,
    rows: Sequence[RowT],
    item_of: Callable[[RowT], dict[str, Any]],
    *,
    headers: dict[str, str],
) -> list[tuple[RowT, dict[str, Any]]]:
    """Post `rows` to a simulated peer as one batch (`{key: [item, ...]}`, answered with one
    result per item); the rows it took, each with its result. A row it refused is logged (by
    the row's own text: a serial number or a key, never an individual number) and left for
    the sweep; it does not hold back the others."""
    answer = peer_call("POST", url, {key: [item_of(row) for row in rows]}, headers=headers)
    taken = []
    for row, result in zip(rows, batch_results(answer, len(rows), url), strict=True):
        if is_refused(result):
            logger.warning("%s refused %s: %s", url, row, result.get("code"))
        else:
            taken.append((row, result))
    return taken


def answer_objects(value: Any, url: str, what: str) -> list[dict[str, Any]]:
    """`value`, a part of `url`'s answer named `what`, if it is a list of objects; else the
    peer could not answer (PeerUnavailable: the caller retries). The message names the part,
    never a value."""
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise PeerUnavailable(f"{url}: malformed answer: {what} is not a list of objects")
    return value


def batch_results(answer: PeerAnswer, count: int, url: str) -> list[dict[str, Any]]:
    """A batch's `results`, one object per item sent; a malformed list is a peer that could
    not answer (the caller retries: every batch is idempotent)."""
    results = answer_objects(answer.body.get("results"), f"POST {url}", "`results`")
    if len(results) != count:
        raise PeerUnavailable(f"POST {url}: {count} items answered with a malformed list")
    return results


def is_refused(result: dict[str, Any]) -> bool:
    """An item of a batch the peer did not take (the others went on)."""
    return result.get("status") == "refused"


# What a task retries with backoff: a peer that cannot answer now, or the database lost for a
# moment (a restart, a failover, a dropped connection) or a deadlock. Every such task is
# idempotent; when its retries are spent, the sweeps take its rows up again.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (PeerUnavailable, OperationalError, InterfaceError)

PEER_TASK_RETRYING: dict[str, Any] = {
    "acks_late": True,
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": 1,
    "retry_backoff_max": 30,
    "retry_jitter": True,
    "max_retries": 30,
}
