"""Signed notices (SPEC 7, outbound): how linkage signs a notice and how a receiver checks it.

The signature is HMAC-SHA256 under the receiving system's secret over
`<timestamp>.<body bytes>`, sent as `X-Linkage-Signature: sha256=<hex>` with
`X-Linkage-Timestamp` (Unix seconds) and `X-Linkage-Event-Id`. A receiver refuses a notice
whose signature does not match (forged or altered) or whose timestamp is further than
TOLERANCE_SECONDS from its clock (stale: a captured notice replayed later), and drops one whose
event id it has already seen (replayed within the window, or a retry after a lost answer).

Each notice is also signed as the Standard Webhooks specification says (`webhook-id`,
`webhook-timestamp`, `webhook-signature: v1,<base64>` over `id.timestamp.body`), so a vendor
verifies it with a ready library in its own language (the `standardwebhooks` package here). The
key is the same secret: a library takes it as `webhook_secret(secret)` = `whsec_` + base64 of
its UTF-8 bytes. The `X-Linkage-*` headers are still sent during the transition
(docs/notices.md); a receiver checks every signature a notice carries, and needs one.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import time
from collections.abc import Mapping

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

SIGNATURE_HEADER = "X-Linkage-Signature"
TIMESTAMP_HEADER = "X-Linkage-Timestamp"
EVENT_ID_HEADER = "X-Linkage-Event-Id"
EVENT_HEADER = "X-Linkage-Event"
WEBHOOK_ID_HEADER = "webhook-id"
WEBHOOK_TIMESTAMP_HEADER = "webhook-timestamp"
WEBHOOK_SIGNATURE_HEADER = "webhook-signature"
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


def webhook_secret(secret: str) -> str:
    """The notice secret as Standard Webhooks libraries take it."""
    return "whsec_" + base64.b64encode(secret.encode("utf-8")).decode("ascii")


def _webhook(secret: str) -> Webhook:
    return Webhook(secret.encode("utf-8"))


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
        WEBHOOK_ID_HEADER: event_id,
        WEBHOOK_TIMESTAMP_HEADER: str(timestamp),
        WEBHOOK_SIGNATURE_HEADER: _webhook(secret).sign(
            msg_id=event_id,
            timestamp=datetime.datetime.fromtimestamp(timestamp, tz=datetime.UTC),
            data=body.decode("utf-8"),
        ),
    }


def signature_verify(
    *, secret: str, headers: Mapping[str, str], body: bytes, now: float | None = None
) -> None:
    """Raise SignatureRejected unless the body was signed with `secret` within the window:
    every signature the notice carries (Standard Webhooks, X-Linkage) must hold, and it
    must carry one."""
    lowered = {name.lower(): value for name, value in headers.items()}
    webhook_signed = WEBHOOK_SIGNATURE_HEADER in lowered
    if webhook_signed:
        _webhook_verify(secret, lowered, body)
    if SIGNATURE_HEADER.lower() in lowered or not webhook_signed:
        _linkage_verify(secret, lowered, body, now)


def _webhook_verify(secret: str, headers: Mapping[str, str], body: bytes) -> None:
    try:
        _webhook(secret).verify(body.decode("utf-8"), dict(headers), json_parse=False)
    except WebhookVerificationError as error:
        stale = "too old" in str(error) or "too new" in str(error)
        raise SignatureRejected(
            "stale" if stale else "bad_signature",
            f"the notice's Standard Webhooks signature: {error}",
        ) from None
    except ValueError:  # not UTF-8, or a signature without its "v1," version
        raise SignatureRejected(
            "bad_signature", "the notice's webhook-signature is malformed"
        ) from None


def _linkage_verify(
    secret: str, headers: Mapping[str, str], body: bytes, now: float | None
) -> None:
    raw_timestamp = headers.get(TIMESTAMP_HEADER.lower(), "")
    given = headers.get(SIGNATURE_HEADER.lower(), "")
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
