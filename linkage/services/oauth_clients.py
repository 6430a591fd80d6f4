"""OAuth 2.0 clients of backbone systems (SPEC 12): creation, secret rotation, revocation,
and the access tokens they are issued."""

from __future__ import annotations

import datetime
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from primitives.crypto import encrypt_secret

from ..models import OAUTH_SECRET_PURPOSE, OAuthAccessToken, OAuthAssertionUse, OAuthClient
from .backbone_clients import api_key_digest as token_digest  # 256 random bits, like a key
from .backbone_clients import backbone_client_create


@dataclass(frozen=True)
class IssuedOAuthClient:
    """What a new OAuth client is told once: its id, its secret and its notice secret."""

    client: OAuthClient
    client_id: str
    client_secret: str
    notice_secret: str


def _sealed(secret: str) -> str:
    return encrypt_secret(secret, purpose=OAUTH_SECRET_PURPOSE)


@transaction.atomic
def oauth_client_create(
    *, number_system: str, name: str, callback_url: str = ""
) -> IssuedOAuthClient:
    """A backbone client that connects with OAuth: its number system, notices and rate limit
    are the backbone client's; it has no static key of its own (the key made for the
    backbone client is dropped unseen; `rotate_api_key` gives it one if ever needed)."""
    issued = backbone_client_create(
        number_system=number_system, name=name, callback_url=callback_url
    )
    client_id = f"{number_system}-{secrets.token_hex(8)}"
    client_secret = secrets.token_urlsafe(32)
    client = OAuthClient.objects.create(
        backbone_client=issued.client, client_id=client_id, secret_encrypted=_sealed(client_secret)
    )
    return IssuedOAuthClient(
        client=client,
        client_id=client_id,
        client_secret=client_secret,
        notice_secret=issued.notice_secret,
    )


def oauth_client_secret_rotate(*, client: OAuthClient, grace: datetime.timedelta) -> str:
    """A new secret; the old one keeps authenticating for `grace`, so the system can switch
    without downtime. The new secret is returned once."""
    new_secret = secrets.token_urlsafe(32)
    OAuthClient.objects.filter(pk=client.pk).update(
        previous_secret_encrypted=client.secret_encrypted,
        previous_secret_valid_until=timezone.now() + grace,
        secret_encrypted=_sealed(new_secret),
    )
    client.refresh_from_db()
    return new_secret


@transaction.atomic
def oauth_client_revoke(*, client: OAuthClient) -> None:
    """The client gets no more tokens, and the tokens it holds stop working at once."""
    now = timezone.now()
    OAuthClient.objects.filter(pk=client.pk, revoked_at__isnull=True).update(revoked_at=now)
    OAuthAccessToken.objects.filter(client=client, revoked_at__isnull=True).update(revoked_at=now)


def access_token_store(*, client: OAuthClient, token: str, scope: str) -> OAuthAccessToken:
    now = timezone.now()
    return OAuthAccessToken.objects.create(
        client=client,
        token_digest=token_digest(token),
        scope=scope,
        issued_at=now,
        expires_at=now + datetime.timedelta(seconds=settings.OAUTH_ACCESS_TOKEN_SECONDS),
    )


def oauth_records_purge(*, now: datetime.datetime | None = None) -> tuple[int, int]:
    """Expired tokens (kept a day for the record) and assertion ids past their expiry: the
    replay check needs a `jti` only until its assertion would be refused as expired."""
    now = now or timezone.now()
    tokens, _ = OAuthAccessToken.objects.filter(
        expires_at__lt=now - datetime.timedelta(days=1)
    ).delete()
    uses, _ = OAuthAssertionUse.objects.filter(expires_at__lt=now).delete()
    return tokens, uses
