"""Signed notices (SPEC 7, outbound): how linkage signs a notice and how a receiver checks it.

The signature is HMAC-SHA256 under the receiving system's secret over
`<timestamp>.<body bytes>`, sent as `X-Linkage-Signature: sha256=<hex>` with
`X-Linkage-Timestamp` (Unix seconds) and `X-Linkage-Event-Id`. A receiver refuses a notice
whose signature does not match (forged or altered) or whose timestamp is further than
TOLERANCE_SECONDS from its clock (stale: a captured notice replayed later), and drops one whose
event id it has already seen (replayed within the window, or a retry after a lost answer).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

SIGNATURE_HEADER = "X-Linkage-Signature"
TIMESTAMP_HEADER = "X-Linkage-Timestamp"
EVENT_ID_HEADER = "X-Linkage-Event-Id"
EVENT_HEADER = "X-Linkage-Event"
SCHEME = "sha256="
TOLERANCE_SECONDS = 300


class SignatureRejected(Exception):
    """The notice is not authentic or not fresh; `code` names why (never the content)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256)
    return SCHEME + mac.hexdigest()


def signed_headers(
    *, secret: str, event: str, event_id: str, body: bytes, now: float | None = None
) -> dict[str, str]:
    timestamp = int(time.time() if now is None else now)
    return {
        "Content-Type": "application/json",
        EVENT_HEADER: event,
        EVENT_ID_HEADER: event_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }


def signature_verify(
    *, secret: str, headers: Mapping[str, str], body: bytes, now: float | None = None
) -> None:
    """Raise SignatureRejected unless the body was signed with `secret` within the window."""
    raw_timestamp = headers.get(TIMESTAMP_HEADER, "")
    given = headers.get(SIGNATURE_HEADER, "")
    if not raw_timestamp.isascii() or not raw_timestamp.isdigit() or not given:
        raise SignatureRejected(
            "unsigned", f"the notice lacks {TIMESTAMP_HEADER} or {SIGNATURE_HEADER}"
        )
    timestamp = int(raw_timestamp)
    if not hmac.compare_digest(given.encode(), signature(secret, timestamp, body).encode()):
        raise SignatureRejected("bad_signature", "the notice signature does not match")
    current = time.time() if now is None else now
    if abs(current - timestamp) > TOLERANCE_SECONDS:
        raise SignatureRejected(
            "stale", f"the notice timestamp is more than {TOLERANCE_SECONDS} s from now"
        )
