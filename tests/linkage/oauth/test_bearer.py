"""Every v1 endpoint of a business system accepts `Authorization: Bearer <access token>`
exactly as it accepts a key (SPEC 12): the client's number system, its rate limit, and the
token's scopes."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from linkage.models import AccessAction, AccessRecord, BackboneClient, OAuthAccessToken, Person
from linkage.services.oauth_clients import IssuedOAuthClient, oauth_client_revoke
from tests.factories import address_change_body
from tests.oauth import access_token

pytestmark = pytest.mark.django_db

CHANGES = "/api/v1/address-changes"
CANDIDATES = "/api/v1/candidates"


def with_token(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def send(token: str, body: dict[str, Any]) -> Any:
    return with_token(token).post(CHANGES, body, format="json")


def test_a_token_registers_an_address_change_of_its_number_system(
    issued: IssuedOAuthClient,
) -> None:
    token = access_token(issued.client_id, issued.client_secret)
    answer = send(token, address_change_body(number_system="02", address_number="700"))
    assert answer.status_code == 201, answer.content
    number = answer.json()["integrated_number"]
    assert Person.objects.filter(integrated_number=number).exists()
    read = with_token(token).get(f"/api/v1/persons/{number}")
    assert read.status_code == 200
    assert read.json()["integrated_number"] == number
    found = with_token(token).post(
        CANDIDATES, {"person": {"name": "山田　太郎", "birth_date": "1980-01-01"}}, format="json"
    )
    assert found.status_code == 200
    # The access records name the backbone system the token acts for.
    record = AccessRecord.objects.filter(action=AccessAction.CANDIDATE_SEARCH).get()
    assert record.client == issued.client.backbone_client


def test_a_token_is_bound_to_its_number_system(issued: IssuedOAuthClient) -> None:
    token = access_token(issued.client_id, issued.client_secret)
    answer = send(token, address_change_body(number_system="01"))
    assert answer.status_code == 403
    assert answer.json()["errors"][0]["code"] == "number_system_not_allowed"
    assert not Person.objects.exists()


def test_a_token_acts_only_within_its_scopes(issued: IssuedOAuthClient) -> None:
    token = access_token(issued.client_id, issued.client_secret, scope="02:persons:read")
    answer = send(token, address_change_body(number_system="02"))
    assert answer.status_code == 403
    assert answer.json()["errors"][0] == {
        "field": "",
        "code": "insufficient_scope",
        "message": "the access token lacks the scope 02:address-changes:write",
    }
    assert not Person.objects.exists()
    assert with_token(token).get("/api/v1/persons/000000000000019").status_code == 404


@pytest.mark.parametrize("ended", ["expired", "revoked", "client_revoked", "backbone_revoked"])
def test_an_ended_token_is_401(issued: IssuedOAuthClient, ended: str) -> None:
    token = access_token(issued.client_id, issued.client_secret)
    if ended == "expired":
        OAuthAccessToken.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    elif ended == "revoked":
        OAuthAccessToken.objects.update(revoked_at=timezone.now())
    elif ended == "client_revoked":
        oauth_client_revoke(client=issued.client)
    else:
        BackboneClient.objects.update(revoked_at=timezone.now())
    answer = send(token, address_change_body(number_system="02"))
    assert answer.status_code == 401
    assert answer.json()["errors"][0]["code"] == "bad_token"
    assert "Bearer" in answer["WWW-Authenticate"]
    assert not Person.objects.exists()


def test_a_token_shares_its_systems_rate_limit(
    issued: IssuedOAuthClient, rate_clock: list[float]
) -> None:
    BackboneClient.objects.filter(pk=issued.client.backbone_client.pk).update(rate_limit="2/m")
    token = access_token(issued.client_id, issued.client_secret)
    other = access_token(issued.client_id, issued.client_secret)
    person = "/api/v1/persons/000000000000019"
    assert with_token(token).get(person).status_code == 404
    assert with_token(other).get(person).status_code == 404
    assert with_token(token).get(person).status_code == 429  # one budget for the system


def test_a_token_opens_no_staff_endpoint(issued: IssuedOAuthClient) -> None:
    token = access_token(issued.client_id, issued.client_secret)
    assert with_token(token).get("/api/v1/code-requests").status_code == 401
    assert with_token(token).get("/api/v1/persons?name=x").status_code == 401
