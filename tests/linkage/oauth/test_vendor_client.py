"""The vendor's guide (docs/api.md) as a vendor runs it: authlib's own OAuth client over real
HTTP against the running server, client_secret_jwt, then an address change with the token."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2.rfc7523 import ClientSecretJWT, client_secret_jwt_sign
from joserfc.jwk import OctKey

from linkage.models import Person
from linkage.services.oauth_clients import oauth_client_create
from tests.factories import address_change_body


class ShortClientSecretJWT(ClientSecretJWT):
    """authlib's client signs assertions for an hour; linkage takes at most 5 minutes."""

    def sign(self, auth: Any, token_endpoint: str) -> Any:
        return client_secret_jwt_sign(
            OctKey.import_key(auth.client_secret),
            client_id=auth.client_id,
            token_endpoint=token_endpoint,
            expires_in=120,
        )


@pytest.mark.django_db(transaction=True)
def test_the_guides_python_example_registers_a_change(live_server: Any) -> None:
    issued = oauth_client_create(number_system="03", name="国保 (vendor)")
    token_url = f"{live_server.url}/oauth/token"

    # As in docs/api.md:
    with OAuth2Client(
        issued.client_id,
        issued.client_secret,
        token_endpoint_auth_method=ShortClientSecretJWT(token_url),
    ) as session:
        token = session.fetch_token(token_url, grant_type="client_credentials")
        assert token["token_type"] == "Bearer"
        answer = session.post(
            f"{live_server.url}/api/v1/address-changes",
            json=address_change_body(number_system="03", address_number="31"),
        )
    assert answer.status_code == 201, answer.text
    assert Person.objects.filter(integrated_number=answer.json()["integrated_number"]).exists()

    # The token is a bearer for plain HTTP clients too, and introspects as active.
    introspected = httpx.post(
        f"{live_server.url}/oauth/introspect",
        data={"token": token["access_token"]},
        auth=(issued.client_id, issued.client_secret),
    )
    assert introspected.json()["active"] is True
    assert introspected.json()["number_system"] == "03"

    # authlib's default (exp an hour ahead) is refused with the reason.
    with (
        OAuth2Client(
            issued.client_id,
            issued.client_secret,
            token_endpoint_auth_method=ClientSecretJWT(token_url),
        ) as session,
        pytest.raises(OAuthError, match="at most 300 s"),
    ):
        session.fetch_token(token_url, grant_type="client_credentials")
