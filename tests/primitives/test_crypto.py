"""The individual number at rest: blind index and authenticated encryption with key ids."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from primitives.crypto import (
    DecryptionError,
    blind_index,
    decrypt_individual_number,
    encrypt_individual_number,
    keyring,
    mask_individual_number,
    token_key_id,
)

NUMBER = "983205673214"
OLD_KEY = base64.urlsafe_b64encode(b"o" * 32).decode()
NEW_KEY = base64.urlsafe_b64encode(b"n" * 32).decode()
INDEX_KEY = base64.urlsafe_b64encode(b"i" * 32).decode()


@pytest.fixture(autouse=True)
def fresh_keyring() -> Iterator[None]:
    keyring.cache_clear()
    yield
    keyring.cache_clear()


def test_round_trip_and_no_plain_text_in_the_token() -> None:
    index = blind_index(NUMBER)
    token = encrypt_individual_number(NUMBER, index=index)
    assert NUMBER not in token
    assert decrypt_individual_number(token, index=index) == NUMBER


def test_each_encryption_uses_a_fresh_nonce() -> None:
    index = blind_index(NUMBER)
    assert encrypt_individual_number(NUMBER, index=index) != encrypt_individual_number(
        NUMBER, index=index
    )


def test_blind_index_is_deterministic_and_keyed() -> None:
    first = blind_index(NUMBER)
    assert first == blind_index(NUMBER)
    assert len(first) == 64
    assert NUMBER not in first
    with override_settings(BLIND_INDEX_KEY=INDEX_KEY):
        keyring.cache_clear()
        assert blind_index(NUMBER) != first


def test_a_token_moved_to_another_row_does_not_decrypt() -> None:
    token = encrypt_individual_number(NUMBER, index=blind_index(NUMBER))
    with pytest.raises(DecryptionError) as raised:
        decrypt_individual_number(token, index=blind_index("123456789018"))
    assert NUMBER not in str(raised.value)


def test_tampered_token_is_refused() -> None:
    index = blind_index(NUMBER)
    token = encrypt_individual_number(NUMBER, index=index)
    version, key_name, payload = token.split(":")
    raw = bytearray(base64.urlsafe_b64decode(payload))
    raw[-1] ^= 1
    tampered = f"{version}:{key_name}:{base64.urlsafe_b64encode(bytes(raw)).decode()}"
    with pytest.raises(DecryptionError, match="failed authentication"):
        decrypt_individual_number(tampered, index=index)


def test_rotation_old_tokens_still_decrypt_and_new_ones_use_the_new_key() -> None:
    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD_KEY], BLIND_INDEX_KEY=INDEX_KEY):
        keyring.cache_clear()
        index = blind_index(NUMBER)
        old_token = encrypt_individual_number(NUMBER, index=index)
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY], BLIND_INDEX_KEY=INDEX_KEY):
        keyring.cache_clear()
        assert blind_index(NUMBER) == index, "rotating encryption keys must not move the index"
        assert decrypt_individual_number(old_token, index=index) == NUMBER
        new_token = encrypt_individual_number(NUMBER, index=index)
        assert token_key_id(new_token) != token_key_id(old_token)
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY], BLIND_INDEX_KEY=INDEX_KEY):
        keyring.cache_clear()
        with pytest.raises(DecryptionError, match="no configured encryption key"):
            decrypt_individual_number(old_token, index=index)


@pytest.mark.parametrize(
    ("keys", "index_key", "message"),
    [
        ([], INDEX_KEY, "FIELD_ENCRYPTION_KEYS is empty"),
        ([NEW_KEY], "", "BLIND_INDEX_KEYS \\(or BLIND_INDEX_KEY\\) is empty"),
        (["not base64 !"], INDEX_KEY, "not urlsafe base64"),
        ([base64.urlsafe_b64encode(b"short").decode()], INDEX_KEY, "not 32 bytes"),
        ([INDEX_KEY], INDEX_KEY, "must all be different keys"),
    ],
)
def test_bad_key_material_is_refused(keys: list[str], index_key: str, message: str) -> None:
    with override_settings(FIELD_ENCRYPTION_KEYS=keys, BLIND_INDEX_KEY=index_key):
        keyring.cache_clear()
        with pytest.raises(ImproperlyConfigured, match=message):
            keyring()


def test_mask_shows_the_last_four_digits_only() -> None:
    assert mask_individual_number(NUMBER) == "********3214"
