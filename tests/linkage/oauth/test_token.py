"""POST /oauth/token and /oauth/introspect (SPEC 12): client_credentials with
client_secret_jwt (RFC 7523) or client_secret_basic, and RFC 7662 introspection."""

from __future__ import annotations

import base64
import datetime
import time
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from linkage.models import AccessAction, AccessOutcome, AccessRecord, OAuthAccessToken
from linkage.services.oauth_clients import (
    IssuedOAuthClient,
    oauth_client_create,
    oauth_client_revoke,
    oauth_client_secret_rotate,
    oauth_records_purge,
)
from tests.oauth import (
    ASSERTION_TYPE,
    INTROSPECT_URL,
    NESTED_CLAIMS,
    TOKEN_URL,
    assertion,
    token_request,
)

pytestmark = pytest.mark.django_db


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def test_a_valid_assertion_gets_a_short_lived_bearer_token(issued: IssuedOAuthClient) -> None:
    answer = token_request(assertion(issued.client_id, issued.client_secret))
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 600
    assert "refresh_token" not in body
    assert body["scope"].split() == [
        "02:address-changes:write",
        "02:candidates:read",
        "02:copies:write",
        "02:copies:read",
        "02:exchange-records:read",
        "02:inquiries:write",
        "02:inquiries:read",
        "02:persons:read",
    ]
    assert answer["Cache-Control"] == "no-store"
    stored = OAuthAccessToken.objects.get()
    assert stored.client == issued.client
    assert body["access_token"] not in stored.token_digest  # only the digest is kept
    record = AccessRecord.objects.filter(action=AccessAction.OAUTH_TOKEN).get()
    assert record.outcome == AccessOutcome.OK
    assert record.client == issued.client.backbone_client
    assert record.criteria["auth_method"] == "client_secret_jwt"


def test_a_replayed_jti_is_refused(issued: IssuedOAuthClient) -> None:
    once = assertion(issued.client_id, issued.client_secret)
    assert token_request(once).status_code == 200
    again = token_request(once)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_client"
    assert "used before" in again.json()["error_description"]
    assert OAuthAccessToken.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"aud": "https://elsewhere.example/oauth/token"}, "aud"),
        ({"exp": int(time.time()) - 3600}, "exp"),
        ({"exp": int(time.time()) + 3600}, "at most 300 s"),
        ({"exp": 10**30}, "at most 300 s"),  # no datetime holds it
        ({"iss": "someone-else"}, "Issuer and Subject"),
        ({"jti": None}, "jti"),
    ],
)
def test_wrong_claims_are_invalid_client(
    issued: IssuedOAuthClient, change: dict[str, Any], needle: str
) -> None:
    claims = {key: value for key, value in change.items() if key != "aud"}
    aud = change.get("aud", TOKEN_URL)
    answer = token_request(assertion(issued.client_id, issued.client_secret, aud=aud, **claims))
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_client"
    assert needle.lower() in answer.json()["error_description"].lower()
    assert not OAuthAccessToken.objects.exists()
    refusal = AccessRecord.objects.get(action=AccessAction.OAUTH_TOKEN)
    assert refusal.outcome == AccessOutcome.DENIED
    assert refusal.criteria["error"] == "invalid_client"


def test_a_wrong_signature_is_refused_and_burns_no_jti(issued: IssuedOAuthClient) -> None:
    jti = "only-once"
    forged = assertion(issued.client_id, "not-the-secret-" + "x" * 32, jti=jti)
    answer = token_request(forged)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_client"
    # The forger did not use up the real client's jti.
    assert (
        token_request(assertion(issued.client_id, issued.client_secret, jti=jti)).status_code == 200
    )


def test_an_unsigned_assertion_is_refused(issued: IssuedOAuthClient) -> None:
    header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    now = int(time.time())
    claims = (
        f'{{"iss":"{issued.client_id}","sub":"{issued.client_id}","aud":"{TOKEN_URL}",'
        f'"exp":{now + 60},"jti":"x"}}'
    )
    payload = base64.urlsafe_b64encode(claims.encode()).rstrip(b"=").decode()
    answer = token_request(f"{header}.{payload}.")
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_client"


def test_client_secret_basic_works_as_the_transition(issued: IssuedOAuthClient) -> None:
    answer = Client().post(
        "/oauth/token",
        {"grant_type": "client_credentials", "scope": "02:persons:read"},
        secure=True,
        HTTP_AUTHORIZATION=basic(issued.client_id, issued.client_secret),
    )
    assert answer.status_code == 200
    assert answer.json()["scope"] == "02:persons:read"
    wrong = Client().post(
        "/oauth/token",
        {"grant_type": "client_credentials"},
        secure=True,
        HTTP_AUTHORIZATION=basic(issued.client_id, "wrong"),
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    assert "Basic" in wrong["WWW-Authenticate"]


@pytest.mark.parametrize("grant", ["password", "authorization_code", "refresh_token", ""])
def test_another_grant_is_unsupported(issued: IssuedOAuthClient, grant: str) -> None:
    answer = token_request(assertion(issued.client_id, issued.client_secret), grant_type=grant)
    assert answer.status_code == 400
    assert answer.json()["error"] == "unsupported_grant_type"


def test_a_scope_of_another_number_system_is_invalid_scope(issued: IssuedOAuthClient) -> None:
    answer = token_request(
        assertion(issued.client_id, issued.client_secret),
        scope="02:persons:read 01:address-changes:write",
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_scope"
    assert "01:address-changes:write" in answer.json()["error_description"]
    assert not OAuthAccessToken.objects.exists()


def test_get_and_plain_http_are_refused(issued: IssuedOAuthClient) -> None:
    assert Client().get("/oauth/token", secure=True).status_code == 405
    plain = Client().post(
        "/oauth/token",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic(issued.client_id, issued.client_secret),
    )
    assert plain.status_code == 400
    assert plain.json() == {
        "error": "invalid_request",
        "error_description": "OAuth requests must use https",
    }


@pytest.mark.parametrize(
    "authorization",
    ["Basic", "Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode(), "Basic \u00e9"],
)
def test_malformed_basic_credentials_are_invalid_client(authorization: str) -> None:
    answer = Client().post(
        "/oauth/token",
        {"grant_type": "client_credentials"},
        secure=True,
        HTTP_AUTHORIZATION=authorization,
    )
    assert answer.status_code in (400, 401)
    assert answer.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    "garbage", ["", "a.b", "a.b.c", "x" * 5000, "eyJhbGciOiJIUzI1NiJ9.e30.", NESTED_CLAIMS]
)
def test_garbage_assertions_are_invalid_client(issued: IssuedOAuthClient, garbage: str) -> None:
    answer = token_request(garbage)
    assert answer.status_code in (400, 401)
    assert answer.json()["error"] == "invalid_client"


@pytest.mark.parametrize("endpoint", [TOKEN_URL, INTROSPECT_URL])
def test_any_value_in_any_field_is_an_oauth_error_never_a_500(
    issued: IssuedOAuthClient, endpoint: str
) -> None:
    """An error description may hold printable ASCII only (RFC 6749 section 5.2) and authlib
    raises ValueError for anything else: a description naming what was sent failed on a
    scope written in Japanese, with a quote, a backslash or a control character."""
    failures = []
    for field in ("grant_type", "client_assertion_type", "scope", "client_id", "token_type_hint"):
        for value in ("業務システムID:住所:登録", "\x01", '"', "\\", "x" * 5000):
            form = {
                "grant_type": "client_credentials",
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": assertion(issued.client_id, issued.client_secret, aud=endpoint),
                "token": "t",
                field: value,
            }
            answer = Client().post(endpoint.removeprefix("https://testserver"), form, secure=True)
            if answer.status_code >= 500 or answer["Content-Type"] != "application/json":
                failures.append((field, value[:8], answer.status_code))
            if field == "scope" and endpoint == TOKEN_URL:
                assert answer.json()["error"] == "invalid_scope"
                assert value[:4] not in answer.json()["error_description"]
    assert failures == []


def test_rotation_keeps_the_old_secret_for_the_grace_period(issued: IssuedOAuthClient) -> None:
    new = oauth_client_secret_rotate(client=issued.client, grace=datetime.timedelta(hours=1))
    assert token_request(assertion(issued.client_id, new)).status_code == 200
    assert token_request(assertion(issued.client_id, issued.client_secret)).status_code == 200
    oauth_client_secret_rotate(client=issued.client, grace=datetime.timedelta(0))
    assert token_request(assertion(issued.client_id, new)).status_code == 400


def test_revocation_ends_the_tokens_it_holds(issued: IssuedOAuthClient) -> None:
    access = token_request(assertion(issued.client_id, issued.client_secret)).json()
    oauth_client_revoke(client=issued.client)
    assert token_request(assertion(issued.client_id, issued.client_secret)).status_code == 400
    looked = introspect(issued, access["access_token"])
    assert looked == {"active": False}


def introspect(issued: IssuedOAuthClient, token: str) -> Any:
    other = oauth_client_create(number_system="01", name="住基 (resource server)")
    answer = Client().post(
        "/oauth/introspect",
        {
            "token": token,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion(other.client_id, other.client_secret, aud=INTROSPECT_URL),
        },
        secure=True,
    )
    assert answer.status_code == 200, answer.content
    return answer.json()


def test_introspection_describes_an_active_token(issued: IssuedOAuthClient) -> None:
    access = token_request(assertion(issued.client_id, issued.client_secret)).json()
    looked = introspect(issued, access["access_token"])
    assert looked["active"] is True
    assert looked["client_id"] == issued.client_id
    assert looked["number_system"] == "02"
    assert looked["scope"] == access["scope"]
    assert looked["exp"] - looked["iat"] == 600
    assert introspect(issued, "not-a-token") == {"active": False}


def test_introspection_needs_client_authentication(issued: IssuedOAuthClient) -> None:
    answer = Client().post("/oauth/introspect", {"token": "x"}, secure=True)
    assert answer.status_code in (400, 401)
    assert answer.json()["error"] == "invalid_client"


def test_an_expired_token_is_inactive_and_purged(issued: IssuedOAuthClient) -> None:
    access = token_request(assertion(issued.client_id, issued.client_secret)).json()
    OAuthAccessToken.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert introspect(issued, access["access_token"]) == {"active": False}
    tokens, uses = oauth_records_purge(now=timezone.now() + datetime.timedelta(days=2))
    assert (tokens, uses) == (1, 2)  # the two assertions used (token request, introspection)
    assert not OAuthAccessToken.objects.exists()


def test_the_command_prints_client_id_and_secret_last(capsys: Any) -> None:
    call_command("create_oauth_client", "03", "国保 (vendor C)")
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-2].startswith("client_id 03-")
    assert lines[-1].startswith("client_secret ")
    client_id, secret = lines[-2].split()[1], lines[-1].split()[1]
    assert token_request(assertion(client_id, secret)).status_code == 200
    from linkage.models import OAuthClient

    stored = OAuthClient.objects.get(client_id=client_id)
    assert secret not in stored.secret_encrypted  # sealed, not kept in the clear
