"""Protection of the individual number at rest.

Two independent keys:

* the blind index: HMAC-SHA256 under BLIND_INDEX_KEY. Deterministic, so it serves lookup and
  the uniqueness constraint, and without the key the 10^11 possible numbers cannot be tried.
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
    blind_index_key: bytes
    encryption_keys: tuple[tuple[str, bytes], ...]  # (key id, key), newest first

    @property
    def current_key_id(self) -> str:
        return self.encryption_keys[0][0]

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
    if not settings.BLIND_INDEX_KEY:
        raise ImproperlyConfigured("BLIND_INDEX_KEY is empty")
    encryption_keys = tuple(
        (key_id(raw), raw)
        for raw in (
            decode_key(value, "FIELD_ENCRYPTION_KEYS") for value in settings.FIELD_ENCRYPTION_KEYS
        )
    )
    blind_index_key = decode_key(settings.BLIND_INDEX_KEY, "BLIND_INDEX_KEY")
    if any(raw == blind_index_key for _, raw in encryption_keys):
        raise ImproperlyConfigured(
            "BLIND_INDEX_KEY must differ from every FIELD_ENCRYPTION_KEYS key"
        )
    return Keyring(blind_index_key=blind_index_key, encryption_keys=encryption_keys)


def blind_index(individual_number: str) -> str:
    """The lookup index of an individual number: 64 hex characters."""
    return hmac.new(
        keyring().blind_index_key, individual_number.encode("ascii"), hashlib.sha256
    ).hexdigest()


def keyed_digest(data: bytes) -> str:
    """A digest of data that may contain an individual number (e.g. a request body).

    Keyed, so a stolen database cannot confirm a guessed number by hashing candidate bodies.
    """
    return hmac.new(keyring().blind_index_key, b"digest:" + data, hashlib.sha256).hexdigest()


def audit_digest(data: bytes) -> str:
    """The chain digest of an access record: keyed, so whoever can write the table but holds
    no key cannot recompute the chain after editing it."""
    return hmac.new(keyring().blind_index_key, b"audit:" + data, hashlib.sha256).hexdigest()


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
