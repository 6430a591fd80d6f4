"""rotate_encryption_key re-encrypts every sealed value under the newest key while the
system keeps working; the old key can then be removed."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from linkage.models import BackboneClient, Person
from linkage.services.key_rotation import sealed_fields
from primitives.crypto import keyring, token_key_id
from tests.conftest import post_change
from tests.factories import KeyedClient, address_change_body, backbone_client

NEW_KEY = base64.urlsafe_b64encode(b"n" * 32).decode()


@pytest.fixture
def keys(settings: Any) -> Iterator[Any]:
    keyring.cache_clear()
    yield settings
    keyring.cache_clear()


def use_keys(settings: Any, keys: list[str]) -> None:
    settings.FIELD_ENCRYPTION_KEYS = keys
    keyring.cache_clear()


def test_every_sealed_value_moves_to_the_new_key_and_still_reads(
    keys: Any, jyuki: KeyedClient
) -> None:
    old_key = keys.FIELD_ENCRYPTION_KEYS[0]
    bodies = [address_change_body() for _ in range(3)]
    for body in bodies:
        assert post_change(jyuki, body).status_code == 201
    notified = backbone_client(number_system="02", callback_url="http://192.0.2.1/notices")
    old_id = keyring().current_key_id

    use_keys(keys, [NEW_KEY, old_key])  # the new key first; the old one still decrypts
    new_id = keyring().current_key_id
    with pytest.raises(CommandError, match="still under older keys"):
        call_command("rotate_encryption_key", "--check", stdout=StringIO())
    # The system works meanwhile: old values read, new values are written under the new key.
    assert {p.individual_number for p in Person.objects.all()} == {
        b["individual_number"] for b in bodies
    }
    late = address_change_body()
    post_change(jyuki, late)
    assert token_key_id(Person.objects.order_by("-pk")[0].individual_number_encrypted) == new_id

    out = StringIO()
    call_command("rotate_encryption_key", stdout=out)
    assert "linkage.Person.individual_number_encrypted: 3 re-encrypted" in out.getvalue()
    assert "older keys can be removed" in out.getvalue()

    use_keys(keys, [NEW_KEY])  # the old key is gone
    assert {p.individual_number for p in Person.objects.all()} == {
        b["individual_number"] for b in [*bodies, late]
    }
    assert BackboneClient.objects.get(pk=notified.client.pk).notice_secret == notified.notice_secret
    assert all(token_key_id(p.individual_number_encrypted) == new_id for p in Person.objects.all())
    assert old_id != new_id
    call_command("rotate_encryption_key", "--check", stdout=StringIO())


def test_every_sealed_column_of_every_app_is_known() -> None:
    labels = {sealed.label for sealed in sealed_fields()}
    assert {
        "linkage.Person.individual_number_encrypted",
        "linkage.BackboneClient.notice_secret_encrypted",
        "backbone.BusinessSystem.api_key_encrypted",
        "backbone.BusinessSystem.notice_secret_encrypted",
        "backbone.HouseholdRecord.individual_number_encrypted",
        "intermediate.RegistryEntry.individual_number_encrypted",
    } <= labels
