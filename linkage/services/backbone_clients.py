"""Backbone clients and their API keys."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from ..models import BackboneClient, StaffToken

KEY_PREFIX_LENGTH = 8


class UnknownNumberSystem(ValueError):
    pass


def api_key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _new_key() -> tuple[str, dict[str, str]]:
    """A fresh key, and the fields that store it (never the key itself)."""
    key = secrets.token_urlsafe(32)
    return key, {"key_prefix": key[:KEY_PREFIX_LENGTH], "key_digest": api_key_digest(key)}


@transaction.atomic
def backbone_client_create(*, number_system: str, name: str) -> tuple[BackboneClient, str]:
    """A new client and its key. The key is returned once and never stored."""
    if number_system not in settings.NUMBER_SYSTEMS:
        known = ", ".join(sorted(settings.NUMBER_SYSTEMS))
        raise UnknownNumberSystem(f"number system {number_system!r} is not configured ({known})")
    key, stored = _new_key()
    client = BackboneClient.objects.create(name=name, number_system=number_system, **stored)
    return client, key


def backbone_client_revoke(*, client: BackboneClient) -> None:
    BackboneClient.objects.filter(pk=client.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def staff_token_create(*, user: User, name: str) -> tuple[StaffToken, str]:
    """A new API key for a staff user. The key is returned once and never stored."""
    key, stored = _new_key()
    token = StaffToken.objects.create(user=user, name=name, **stored)
    return token, key
