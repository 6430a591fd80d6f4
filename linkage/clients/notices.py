"""The signed delivery of a notice to a business system's callback URL (SPEC 7, outbound).

The outbox (linkage.services.notices) decides what is owed and when; this client only sends
one notice and says how it went. A receiver that already has the event id answers 409
`duplicate_event`, which counts as delivered.
"""

from __future__ import annotations

from django.conf import settings

from primitives.http import PeerRefused, PeerUnavailable, peer_call
from primitives.signing import signed_headers

DUPLICATE_CODE = "duplicate_event"
UNAVAILABLE = "unavailable: "  # how a failure of the receiver itself begins (not a refusal)


def notice_send(*, url: str, secret: str, event: str, event_id: str, body: bytes) -> str:
    """POST the signed notice; "" once the receiver has it, else why it was not delivered."""
    headers = signed_headers(secret=secret, event=event, event_id=event_id, body=body)
    try:
        peer_call("POST", url, content=body, headers=headers, timeout=settings.NOTICE_TIMEOUT)
    except PeerRefused as refused:
        if refused.status != 409 or refused.code != DUPLICATE_CODE:
            return f"refused: {refused.status} {refused.code}"
    except PeerUnavailable as unavailable:
        return f"{UNAVAILABLE}{unavailable}"
    return ""
