"""Administering OAuth clients: revocation in the admin ends the client's tokens at once, the
secrets are resealed by rotate_encryption_key, and the lifetime checks refuse bad settings."""

from __future__ import annotations

import base64
from io import StringIO
from typing import Any

from django.core.checks import run_checks
from django.core.management import call_command

from linkage.models import OAuthClient
from linkage.services.oauth_clients import IssuedOAuthClient
from primitives.crypto import keyring, token_key_id
from tests.oauth import access_token, assertion, token_request
from tests.residents import signed_in


def bearer_get(token: str, path: str) -> int:
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return int(api.get(path).status_code)


def test_the_administrator_revokes_a_client_in_the_admin_and_its_tokens_stop(
    issued: IssuedOAuthClient, administrator: Any
) -> None:
    token = access_token(issued.client_id, issued.client_secret)
    assert bearer_get(token, "/api/v1/persons/000000000000019") == 404  # authenticated

    browser = signed_in(administrator)
    listing = browser.get("/admin/linkage/oauthclient/").content.decode()
    assert issued.client_id in listing and issued.client_secret not in listing
    answer = browser.post(
        "/admin/linkage/oauthclient/",
        {"action": "revoke", "_selected_action": [str(issued.client.pk)]},
    )
    assert answer.status_code == 302

    assert OAuthClient.objects.get(pk=issued.client.pk).revoked_at is not None
    assert bearer_get(token, "/api/v1/persons/000000000000019") == 401
    refused = token_request(assertion(issued.client_id, issued.client_secret))
    assert refused.status_code == 400  # RFC 6749 5.2: 401 only for the Authorization header
    assert refused.json()["error"] == "invalid_client"


def test_rotating_the_encryption_key_reseals_the_client_secrets(
    issued: IssuedOAuthClient, settings: Any
) -> None:
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    new_key = base64.urlsafe_b64encode(b"o" * 32).decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    keyring.cache_clear()
    try:
        out = StringIO()
        call_command("rotate_encryption_key", stdout=out)
        assert "linkage.OAuthClient.secret_encrypted: 1 re-encrypted" in out.getvalue()
        settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key is gone
        keyring.cache_clear()
        client = OAuthClient.objects.get(pk=issued.client.pk)
        assert token_key_id(client.secret_encrypted) == keyring().current_key_id
        # The client still authenticates with the secret it was given.
        assert access_token(issued.client_id, issued.client_secret)
    finally:
        keyring.cache_clear()


def test_lifetimes_beyond_the_standards_bounds_are_refused(settings: Any) -> None:
    settings.OAUTH_ACCESS_TOKEN_SECONDS = 7200
    settings.OAUTH_ASSERTION_MAX_SECONDS = 0
    found = {message.id: message.msg for message in run_checks() if message.id}
    assert found["linkage.E012"] == "OAUTH_ACCESS_TOKEN_SECONDS is 7200; it must be 1-3600"
    assert found["linkage.E013"] == "OAUTH_ASSERTION_MAX_SECONDS is 0; it must be 1-900"

    settings.OAUTH_ACCESS_TOKEN_SECONDS = 600
    settings.OAUTH_ASSERTION_MAX_SECONDS = 300
    ids = {message.id for message in run_checks()}
    assert not ids & {"linkage.E012", "linkage.E013"}
