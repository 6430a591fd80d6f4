"""Notice signatures: Standard Webhooks (verified by the specification's own library, as a
vendor would) beside the X-Linkage headers of the transition; every signature must hold."""

from __future__ import annotations

import json
import time

import pytest
from standardwebhooks import Webhook

from primitives.signing import SignatureRejected, signature_verify, signed_headers, webhook_secret

SECRET = "a-notice-secret-of-some-length-0123456789"
BODY = json.dumps({"event_id": "e-1", "event": "address.updated", "data": {}}).encode()


def headers() -> dict[str, str]:
    return signed_headers(secret=SECRET, event="address.updated", event_id="e-1", body=BODY)


def test_a_vendor_verifies_a_notice_with_the_standard_webhooks_library() -> None:
    signed = headers()
    assert signed["webhook-id"] == "e-1"
    assert signed["webhook-signature"].startswith("v1,")
    assert Webhook(webhook_secret(SECRET)).verify(BODY, signed) == json.loads(BODY)
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(webhook_secret("another-secret")).verify(BODY, signed)


def test_both_signatures_verify() -> None:
    signature_verify(secret=SECRET, headers=headers(), body=BODY)
    only_webhook = {k: v for k, v in headers().items() if not k.startswith("X-Linkage-Sig")}
    signature_verify(secret=SECRET, headers=only_webhook, body=BODY)
    only_linkage = {k: v for k, v in headers().items() if not k.startswith("webhook-")}
    signature_verify(secret=SECRET, headers=only_linkage, body=BODY)


@pytest.mark.parametrize(
    ("header", "value", "code"),
    [
        ("X-Linkage-Signature", "sha256=" + "0" * 64, "bad_signature"),
        ("webhook-signature", "v1,AAAA", "bad_signature"),
        ("webhook-signature", "no-version", "bad_signature"),
        ("webhook-timestamp", str(int(time.time()) - 3600), "stale"),
    ],
)
def test_any_signature_that_does_not_hold_refuses_the_notice(
    header: str, value: str, code: str
) -> None:
    tampered = {**headers(), header: value}
    with pytest.raises(SignatureRejected) as refused:
        signature_verify(secret=SECRET, headers=tampered, body=BODY)
    assert refused.value.code == code


def test_a_notice_without_any_signature_is_unsigned() -> None:
    bare = {
        k: v for k, v in headers().items() if k not in ("X-Linkage-Signature", "webhook-signature")
    }
    with pytest.raises(SignatureRejected) as refused:
        signature_verify(secret=SECRET, headers=bare, body=BODY)
    assert refused.value.code == "unsigned"


def test_a_body_that_is_not_utf8_is_refused() -> None:
    with pytest.raises(SignatureRejected) as refused:
        signature_verify(secret=SECRET, headers=headers(), body=b"\xff\xfe")
    assert refused.value.code == "bad_signature"
