"""Management commands of the linkage app."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from linkage.models import BackboneClient
from tests.conftest import post_change
from tests.factories import KeyedClient, address_change_body

pytestmark = pytest.mark.django_db


def test_create_backbone_client_prints_a_working_key_as_its_last_line() -> None:
    out = StringIO()
    call_command("create_backbone_client", "02", "税 (vendor B)", stdout=out)
    key = out.getvalue().strip().splitlines()[-1]

    client = BackboneClient.objects.get()
    assert (client.number_system, client.name) == ("02", "税 (vendor B)")
    assert key not in client.key_digest
    assert client.key_prefix == key[:8]
    answer = post_change(
        KeyedClient(client=client, key=key), address_change_body(number_system="02")
    )
    assert answer.status_code == 201


def test_create_backbone_client_sets_the_callback_and_prints_the_notice_secret() -> None:
    out = StringIO()
    call_command(
        "create_backbone_client",
        "01",
        "住基",
        "--callback-url",
        "https://jyuki.example.lg.jp/linkage/notices",
        stdout=out,
    )
    lines = out.getvalue().strip().splitlines()
    secret = lines[-3].removeprefix("Notice signing secret (HMAC-SHA256): ")

    client = BackboneClient.objects.get()
    assert client.callback_url == "https://jyuki.example.lg.jp/linkage/notices"
    assert client.notice_secret == secret and len(secret) >= 43
    assert secret not in client.notice_secret_encrypted  # kept sealed, not in plain text


def test_create_backbone_client_refuses_a_callback_that_is_not_http() -> None:
    with pytest.raises(CommandError, match="is not an http"):
        call_command(
            "create_backbone_client", "01", "住基", "--callback-url", "ftp://x", stdout=StringIO()
        )
    assert not BackboneClient.objects.exists()


def test_create_backbone_client_refuses_an_unknown_number_system() -> None:
    with pytest.raises(CommandError, match="number system '77' is not configured"):
        call_command("create_backbone_client", "77", "nobody", stdout=StringIO())
    assert not BackboneClient.objects.exists()
