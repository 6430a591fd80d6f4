"""A simulated business system's OAuth 2.0 client (SPEC 12), as a standard-conformant vendor's
system connects: client credentials with a `client_secret_jwt` assertion (RFC 7523), the
access token kept until shortly before it expires and fetched again after a 401.

The assertion is signed with authlib's `client_secret_jwt_sign` (the library the vendor's
guide in docs/api.md uses); the token request goes over the same pooled HTTP client as every
other call of the system.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

from authlib.oauth2.rfc7523 import client_secret_jwt_sign
from joserfc.jwk import OctKey

from primitives.http import PeerRefused, peer_call

ASSERTION_SECONDS = 120  # linkage takes assertions valid for at most OAUTH_ASSERTION_MAX_SECONDS
RENEW_BEFORE_SECONDS = 30  # a token this close to its expiry is not sent any more
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class TokenRefused(Exception):
    """Linkage's token endpoint refused the client (RFC 6749 error and description)."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"the token endpoint answered {status} {error}: {description}")
        self.status = status
        self.error = error


@dataclass
class TokenSource:
    """Access tokens of one OAuth client, shared by the threads of a process."""

    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    timeout: float = 10.0
    _token: str = field(default="", repr=False)
    _renew_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def token(self) -> str:
        with self._lock:
            if not self._token or time.monotonic() >= self._renew_at:
                self._token, lifetime = self._fetch()
                self._renew_at = time.monotonic() + max(lifetime - RENEW_BEFORE_SECONDS, 1)
            return self._token

    def forget(self, token: str) -> None:
        """The token was refused (revoked, or linkage restarted its keys): fetch a new one."""
        with self._lock:
            if self._token == token:
                self._token = ""

    def _fetch(self) -> tuple[str, int]:
        assertion = client_secret_jwt_sign(
            OctKey.import_key(self.client_secret),
            client_id=self.client_id,
            token_endpoint=self.token_url,
            expires_in=ASSERTION_SECONDS,
        )
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion.decode() if isinstance(assertion, bytes) else assertion,
        }
        try:
            answer = peer_call(
                "POST",
                self.token_url,
                content=urlencode(form).encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                timeout=self.timeout,
            )
        except PeerRefused as refused:
            raise TokenRefused(
                refused.status,
                str(refused.body.get("error", "")),
                str(refused.body.get("error_description", "")),
            ) from refused
        return str(answer.body["access_token"]), int(answer.body.get("expires_in", 60))


_sources: dict[tuple[str, str], TokenSource] = {}
_sources_lock = threading.Lock()


def token_source(*, token_url: str, client_id: str, client_secret: str) -> TokenSource:
    """The process's one token source for this client (a new secret gets a new source)."""
    with _sources_lock:
        source = _sources.get((token_url, client_id))
        if source is None or source.client_secret != client_secret:
            source = TokenSource(token_url, client_id, client_secret)
            _sources[(token_url, client_id)] = source
        return source
