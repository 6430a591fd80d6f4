"""Protection of the individual number at rest.

Independent keys:

* the blind index: HMAC-SHA256 under the newest of BLIND_INDEX_KEYS. Deterministic, so it
  serves lookup and the uniqueness constraint, and without the key the 10^11 possible
  numbers cannot be tried. During a rotation (`rotate_blind_index_key`) lookups try every
  configured key; each person records the id of the key its index was made with.
* the records key, AUDIT_LOG_KEY: the access records' hash chain and the keyed digests of
  request bodies. It is never rotated with the others (a chain keyed by a rotated key could
  no longer be verified), and knowing it reveals no individual number.
* the stored value: AES-256-GCM under the newest of FIELD_ENCRYPTION_KEYS. Each token names its
  key by id, so older keys keep decrypting while a rotation re-encrypts. The blind index is the
  associated data, so a ciphertext moved onto another person's row fails to decrypt.

Errors raised here never carry the number itself.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass
from functools import cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

TOKEN_VERSION = "v1"  # noqa: S105 (a format version, not a secret)
NONCE_BYTES = 12


class DecryptionError(Exception):
    """A stored individual number could not be decrypted (unknown key or tampered data)."""


def decode_key(encoded: str, setting_name: str) -> bytes:
    """A key as configured: the urlsafe base64 of exactly 32 bytes."""
    try:
        raw = base64.urlsafe_b64decode(encoded.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError) as error:
        raise ImproperlyConfigured(
            f"{setting_name} holds a key that is not urlsafe base64"
        ) from error
    if len(raw) != 32:
        raise ImproperlyConfigured(f"{setting_name} holds a key that is not 32 bytes")
    return raw


def key_id(raw_key: bytes) -> str:
    """A short public name for a key: it says which key encrypted a value, not the key."""
    return hashlib.sha256(b"linkage-key-id:" + raw_key).hexdigest()[:8]


@dataclass(frozen=True)
class Keyring:
    blind_index_keys: tuple[tuple[str, bytes], ...]  # (key id, key), newest first
    encryption_keys: tuple[tuple[str, bytes], ...]  # (key id, key), newest first
    audit_log_key: bytes

    @property
    def current_key_id(self) -> str:
        return self.encryption_keys[0][0]

    @property
    def blind_index_key(self) -> bytes:
        return self.blind_index_keys[0][1]

    @property
    def blind_index_key_id(self) -> str:
        return self.blind_index_keys[0][0]

    def encryption_key(self, wanted_id: str) -> bytes:
        for candidate_id, key in self.encryption_keys:
            if candidate_id == wanted_id:
                return key
        raise DecryptionError(f"no configured encryption key has id {wanted_id}")


@cache
def keyring() -> Keyring:
    """The keys from settings, decoded once; `keyring.cache_clear()` after changing settings."""
    if not settings.FIELD_ENCRYPTION_KEYS:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty")
    blind_settings = list(settings.BLIND_INDEX_KEYS) or (
        [settings.BLIND_INDEX_KEY] if settings.BLIND_INDEX_KEY else []
    )
    if not blind_settings:
        raise ImproperlyConfigured("BLIND_INDEX_KEYS (or BLIND_INDEX_KEY) is empty")
    if not settings.AUDIT_LOG_KEY:
        raise ImproperlyConfigured("AUDIT_LOG_KEY is empty")
    encryption_keys = _keys(settings.FIELD_ENCRYPTION_KEYS, "FIELD_ENCRYPTION_KEYS")
    blind_index_keys = _keys(blind_settings, "BLIND_INDEX_KEYS")
    audit_log_key = decode_key(settings.AUDIT_LOG_KEY, "AUDIT_LOG_KEY")
    raw_keys = [raw for _, raw in (*encryption_keys, *blind_index_keys)] + [audit_log_key]
    if len(set(raw_keys)) != len(raw_keys):
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS, BLIND_INDEX_KEYS and AUDIT_LOG_KEY must all be different keys"
        )
    return Keyring(
        blind_index_keys=blind_index_keys,
        encryption_keys=encryption_keys,
        audit_log_key=audit_log_key,
    )


def _keys(values: list[str], setting_name: str) -> tuple[tuple[str, bytes], ...]:
    return tuple((key_id(raw), raw) for raw in (decode_key(v, setting_name) for v in values))


def _index(key: bytes, individual_number: str) -> str:
    return hmac.new(key, individual_number.encode("ascii"), hashlib.sha256).hexdigest()


def blind_index(individual_number: str, *, key: bytes | None = None) -> str:
    """The lookup index of an individual number (64 hex characters) under the newest blind
    index key, or under `key` (a system with a key of its own, such as a simulator)."""
    return _index(key if key is not None else keyring().blind_index_key, individual_number)


def blind_index_key_id() -> str:
    """The id of the key new blind indexes are made with (a model field's default)."""
    return keyring().blind_index_key_id


def blind_indexes(individual_number: str) -> list[str]:
    """The number's index under every configured key, newest first: what a lookup matches
    while a rotation has not yet re-indexed every person."""
    return [_index(key, individual_number) for _, key in keyring().blind_index_keys]


def keyed_digest(data: bytes) -> str:
    """A digest of data that may contain an individual number (e.g. a request body).

    Keyed, so a stolen database cannot confirm a guessed number by hashing candidate bodies;
    under the records key, so a blind-index rotation leaves earlier digests comparable.
    """
    return _body_digest(keyring().audit_log_key, data)


def legacy_digests(data: bytes) -> list[str]:
    """`keyed_digest` as releases before AUDIT_LOG_KEY computed it (under each blind-index
    key), so receipts stored then still recognise a repeat of their own body."""
    return [_body_digest(key, data) for _, key in keyring().blind_index_keys]


def _body_digest(key: bytes, data: bytes) -> str:
    return hmac.new(key, b"digest:" + data, hashlib.sha256).hexdigest()


def audit_digest(data: bytes) -> str:
    """The chain digest of an access record: keyed, so whoever can write the table but holds
    no key cannot recompute the chain after editing it."""
    return hmac.new(keyring().audit_log_key, b"audit:" + data, hashlib.sha256).hexdigest()


def _seal(plaintext: str, *, associated_data: str) -> str:
    ring = keyring()
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(ring.encryption_keys[0][1]).encrypt(
        nonce, plaintext.encode("utf-8"), associated_data.encode("utf-8")
    )
    payload = base64.urlsafe_b64encode(nonce + ciphertext).decode("ascii")
    return f"{TOKEN_VERSION}:{ring.current_key_id}:{payload}"


def _open(token: str, *, associated_data: str, what: str) -> str:
    try:
        version, wanted_id, payload = token.split(":", 2)
        raw = base64.urlsafe_b64decode(payload.encode("ascii"))
    except (ValueError, binascii.Error) as error:
        raise DecryptionError(f"stored {what} is malformed") from error
    if version != TOKEN_VERSION:
        raise DecryptionError(f"unknown token version {version}")
    key = keyring().encryption_key(wanted_id)
    try:
        plaintext = AESGCM(key).decrypt(
            raw[:NONCE_BYTES], raw[NONCE_BYTES:], associated_data.encode("utf-8")
        )
    except InvalidTag as error:
        raise DecryptionError(f"stored {what} failed authentication") from error
    return plaintext.decode("utf-8")


def encrypt_individual_number(individual_number: str, *, index: str) -> str:
    return _seal(individual_number, associated_data=index)


def decrypt_individual_number(token: str, *, index: str) -> str:
    return _open(token, associated_data=index, what="individual number")


def encrypt_secret(secret: str, *, purpose: str) -> str:
    """A credential the application must use again (a notice signing secret, a peer's API
    key), sealed like the individual number; `purpose` binds the token to its one use."""
    return _seal(secret, associated_data=f"secret:{purpose}")


def decrypt_secret(token: str, *, purpose: str) -> str:
    return _open(token, associated_data=f"secret:{purpose}", what="secret")


def reseal(token: str, *, associated_data: str) -> str:
    """The same value sealed again under the newest key (key rotation)."""
    return _seal(
        _open(token, associated_data=associated_data, what="value"), associated_data=associated_data
    )


def token_key_id(token: str) -> str:
    """The id of the key a stored token was encrypted under."""
    return token.split(":", 2)[1]


def mask_individual_number(individual_number: str) -> str:
    """What a screen shows without the right to reveal: the last four digits only."""
    return "*" * (len(individual_number) - 4) + individual_number[-4:]
