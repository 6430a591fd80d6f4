"""The sandbox's own keys: what linkage and the simulated peers present to each other when
no key is configured (SIMULATORS_ENABLED only).

Derived from SECRET_KEY, so every process of one installation agrees on them without
configuration and no other installation can guess them. A real peer never uses these: it
is given its key (PEER_KEYS) by its operator.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings


def sandbox_key(purpose: str) -> str:
    return hmac.new(
        settings.SECRET_KEY.encode(), f"sandbox-peer-key:{purpose}".encode(), hashlib.sha256
    ).hexdigest()


def institution_key(lg_code: str) -> str:
    """The key the institution `lg_code` presents to the simulated national side."""
    return sandbox_key(f"institution:{lg_code}")


def network_key() -> str:
    """The key the simulated national peers present to each other."""
    return settings.SIMULATOR_NETWORK_KEY or sandbox_key("network")


def simulator_index_key() -> bytes:
    """The simulators' own blind-index key: they are other systems than linkage and do not
    share its keys (linkage's rotate without them)."""
    return hashlib.sha256(sandbox_key("blind-index").encode()).digest()


def network_headers() -> dict[str, str]:
    """What a simulated peer presents when it calls another."""
    return {"Authorization": f"Bearer {network_key()}"}
