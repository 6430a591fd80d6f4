"""A business system's side of SPEC 12 for the tests: a client assertion, a token request."""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any

from django.test import Client
from joserfc import jwt
from joserfc.jwk import OctKey

TOKEN_URL = "https://testserver/oauth/token"
INTROSPECT_URL = "https://testserver/oauth/introspect"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _segment(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


# Claims nested deeper than the JSON decoder goes, in a JWT with a made-up signature: authlib
# reads the claims to find the client before any signature is checked.
NESTED_CLAIMS = ".".join(
    [
        _segment('{"alg": "HS256", "typ": "JWT"}'),
        _segment('{"iss": "x", "deep": ' + "[" * 5000 + "]" * 5000 + "}"),
        _segment("0" * 32),
    ]
)


def assertion(client_id: str, secret: str, *, aud: str = TOKEN_URL, **claims: Any) -> str:
    """A `client_secret_jwt` assertion (RFC 7523): HS256 over the secret, 2 minutes long."""
    now = int(time.time())
    payload = {
        "iss": client_id,
        "sub": client_id,
        "aud": aud,
        "iat": now,
        "exp": now + 120,
        "jti": str(uuid.uuid4()),
        **claims,
    }
    return jwt.encode({"alg": "HS256"}, payload, OctKey.import_key(secret))


def token_request(client_assertion: str, **form: str) -> Any:
    return Client().post(
        "/oauth/token",
        {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": client_assertion,
            **form,
        },
        secure=True,
    )


def access_token(client_id: str, secret: str, **form: str) -> str:
    answer = token_request(assertion(client_id, secret), **form)
    assert answer.status_code == 200, answer.content
    return str(answer.json()["access_token"])
