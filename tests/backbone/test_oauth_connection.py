"""The simulated business systems connect as SPEC 12 says: a client_secret_jwt assertion for a
short-lived access token, the token kept while it lasts, a new one after a 401, and the
token endpoint's refusal shown to the clerk with its reason."""

from __future__ import annotations

from django.utils import timezone

from backbone.models import BusinessSystem
from backbone.services import linkage_client_of
from linkage.models import (
    AccessAction,
    AccessOutcome,
    AccessRecord,
    AddressChangeReceipt,
    OAuthAccessToken,
    OAuthClient,
)
from linkage.services.oauth_clients import oauth_client_revoke
from tests.factories import address_change_body


def send(system: BusinessSystem, address_number: str) -> int:
    change = address_change_body(number_system=system.number_system, address_number=address_number)
    return linkage_client_of(system).address_change_send(change).status


def test_each_system_holds_an_oauth_client_and_no_static_key(
    systems: dict[str, BusinessSystem],
) -> None:
    for number_system, system in systems.items():
        assert system.oauth_client_id.startswith(f"{number_system}-")
        assert system.api_key_encrypted == ""
        client = OAuthClient.objects.get(client_id=system.oauth_client_id)
        assert client.backbone_client_id == system.linkage_client_id
        assert system.oauth_secret  # sealed on the system's side, readable by it


def test_a_change_goes_with_a_bearer_token_fetched_once(
    systems: dict[str, BusinessSystem],
) -> None:
    tax = systems["02"]
    assert send(tax, "2000000001") == 201
    assert send(tax, "2000000002") == 201
    # One token for both changes, issued to 税's client and recorded.
    token = OAuthAccessToken.objects.get()
    assert token.client.client_id == tax.oauth_client_id
    assert token.scope.split() == [
        "02:address-changes:write",
        "02:candidates:read",
        "02:copies:write",
        "02:copies:read",
        "02:exchange-records:read",
        "02:inquiries:write",
        "02:inquiries:read",
        "02:persons:read",
    ]
    issued = AccessRecord.objects.filter(action=AccessAction.OAUTH_TOKEN, outcome=AccessOutcome.OK)
    assert issued.count() == 1
    assert issued.get().criteria["auth_method"] == "client_secret_jwt"
    # The changes were authenticated by that token: received from 税's client.
    assert list(AddressChangeReceipt.objects.values_list("client_id", flat=True)) == [
        tax.linkage_client_id,
        tax.linkage_client_id,
    ]


def test_a_revoked_token_is_replaced_and_the_change_still_goes(
    systems: dict[str, BusinessSystem],
) -> None:
    nhi = systems["03"]
    assert send(nhi, "3000000001") == 201
    OAuthAccessToken.objects.update(revoked_at=timezone.now())

    assert send(nhi, "3000000002") == 201
    assert OAuthAccessToken.objects.count() == 2
    assert OAuthAccessToken.objects.filter(revoked_at__isnull=True).count() == 1


def test_a_revoked_client_is_told_why(systems: dict[str, BusinessSystem]) -> None:
    welfare = systems["04"]
    oauth_client_revoke(client=OAuthClient.objects.get(client_id=welfare.oauth_client_id))
    change = address_change_body(number_system="04", address_number="4000000001")

    answer = linkage_client_of(welfare).address_change_send(change)

    assert answer.status in (400, 401)
    assert answer.body["code"] == "invalid_client"
    assert "invalid_client" in answer.body["detail"]
