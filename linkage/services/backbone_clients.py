"""Backbone clients and their API keys."""

from __future__ import annotations

import copy
import datetime
import hashlib
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from primitives.crypto import encrypt_secret
from primitives.text import has_forbidden_characters

from ..models import NOTICE_SECRET_PURPOSE, ApiKey, BackboneClient, StaffToken

KEY_PREFIX_LENGTH = 8


class UnknownNumberSystem(ValueError):
    pass


class InvalidCallbackUrl(ValueError):
    pass


class InvalidName(ValueError):
    pass


def key_name_check(name: str) -> str:
    """A client's or a staff key's name as it is stored and listed (the admin, the access
    records): trimmed, 1 to the column's length, no control or invisible format characters.
    InvalidName otherwise, naming the rule."""
    trimmed = name.strip()
    limit = ApiKey._meta.get_field("name").max_length or 0
    if not trimmed:
        raise InvalidName("the name must not be blank")
    if len(trimmed) > limit:
        raise InvalidName(f"the name must be at most {limit} characters")
    if has_forbidden_characters(trimmed):
        raise InvalidName("the name must not contain control or invisible format characters")
    return trimmed


def api_key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass
class _LiveClients:
    """Every client not revoked, as one read found them, by key digest and by the digest of
    the key a rotation replaced, and those taking notices by number system."""

    read_at: float
    by_digest: dict[str, BackboneClient] = field(default_factory=dict)
    by_previous_digest: dict[str, BackboneClient] = field(default_factory=dict)
    receivers: dict[str, list[BackboneClient]] = field(default_factory=dict)


_live: _LiveClients | None = None
_live_lock = threading.Lock()


def _live_clients() -> _LiveClients:
    """The live clients, read at most every BACKBONE_CLIENTS_CACHE_SECONDS per process: each
    request needs its key's client and each change its receivers, and both rarely change.
    This process forgets them at once when it saves a client; other processes read them
    again within that many seconds (0: every call reads them)."""
    global _live
    seconds = settings.BACKBONE_CLIENTS_CACHE_SECONDS
    live = _live
    if live is not None and time.monotonic() - live.read_at < seconds:
        return live
    with _live_lock:
        live = _LiveClients(read_at=time.monotonic())
        for client in BackboneClient.objects.filter(revoked_at__isnull=True).order_by("pk"):
            live.by_digest[client.key_digest] = client
            if client.previous_key_digest:
                live.by_previous_digest[client.previous_key_digest] = client
            if client.callback_url:
                live.receivers.setdefault(client.number_system, []).append(client)
        if seconds > 0:
            _live = live
    return live


def backbone_clients_forget() -> None:
    """Read the clients afresh next time (one was created, changed, rotated or revoked)."""
    global _live
    _live = None


def backbone_client_usable(digest: str) -> BackboneClient | None:
    """The client whose key has this digest if it may be used now: not revoked, not expired;
    or the client whose previous key it is, during the grace period of a rotation. A copy:
    the request may not change the instance other requests share."""
    live = _live_clients()
    now = timezone.now()
    client = live.by_digest.get(digest)
    if client is None:
        client = live.by_previous_digest.get(digest)
        if client is None:
            return None
        valid_until = client.previous_key_valid_until
        if valid_until is None or valid_until <= now:
            return None
    if client.expires_at is not None and client.expires_at <= now:
        return None
    return copy.copy(client)


def receivers_by_number_system(
    number_systems: Iterable[str],
) -> dict[str, list[BackboneClient]]:
    """The live clients of these number systems that asked for notices (a list per system)."""
    receivers = _live_clients().receivers
    return {system: list(receivers.get(system, ())) for system in number_systems}


def _new_key() -> tuple[str, dict[str, str]]:
    """A fresh key, and the fields that store it (never the key itself)."""
    key = secrets.token_urlsafe(32)
    return key, {"key_prefix": key[:KEY_PREFIX_LENGTH], "key_digest": api_key_digest(key)}


@dataclass(frozen=True)
class IssuedClient:
    """What a new client is told once: its API key and the secret its notices are signed with."""

    client: BackboneClient
    key: str
    notice_secret: str


@transaction.atomic
def backbone_client_create(
    *, number_system: str, name: str, callback_url: str = ""
) -> IssuedClient:
    """A new client with its key (stored as a digest only) and its notice signing secret
    (stored encrypted: linkage signs with it). Both are returned once."""
    if number_system not in settings.NUMBER_SYSTEMS:
        known = ", ".join(sorted(settings.NUMBER_SYSTEMS))
        raise UnknownNumberSystem(f"number system {number_system!r} is not configured ({known})")
    name = key_name_check(name)
    if callback_url:
        callback_url_check(callback_url)
    key, stored = _new_key()
    notice_secret = secrets.token_urlsafe(32)
    client = BackboneClient.objects.create(
        name=name,
        number_system=number_system,
        callback_url=callback_url,
        notice_secret_encrypted=encrypt_secret(notice_secret, purpose=NOTICE_SECRET_PURPOSE),
        **stored,
    )
    return IssuedClient(client=client, key=key, notice_secret=notice_secret)


def callback_url_check(url: str) -> str:
    """An http(s) URL; anything else is refused with the reason."""
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError as error:
        raise InvalidCallbackUrl(f"callback URL {url!r} is not an http(s) URL") from error
    return url


def backbone_client_revoke(*, client: BackboneClient) -> None:
    BackboneClient.objects.filter(pk=client.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    backbone_clients_forget()


def staff_token_create(*, user: User, name: str) -> tuple[StaffToken, str]:
    """A new API key for a staff user. The key is returned once and never stored."""
    name = key_name_check(name)
    key, stored = _new_key()
    token = StaffToken.objects.create(user=user, name=name, **stored)
    return token, key


def api_key_rotate(*, key: ApiKey, grace: datetime.timedelta) -> str:
    """A new key for the same client or staff user; the old one keeps working for `grace`
    so the system using it can switch without downtime. The new key is returned once."""
    new_key, stored = _new_key()
    type(key).objects.filter(pk=key.pk).update(
        previous_key_digest=key.key_digest,
        previous_key_valid_until=timezone.now() + grace,
        **stored,
    )
    key.refresh_from_db()
    backbone_clients_forget()
    return new_key
