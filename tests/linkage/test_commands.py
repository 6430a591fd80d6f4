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


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "must not be blank"),
        ("   ", "must not be blank"),
        ("x" * 101, "at most 100 characters"),
        ("税\x01", "control or invisible format characters"),
    ],
    ids=["empty", "spaces", "too long", "control character"],
)
@pytest.mark.parametrize("command", ["create_backbone_client", "create_oauth_client"])
def test_a_client_is_not_created_under_a_name_nobody_could_read(
    command: str, name: str, reason: str
) -> None:
    """The name is how the admin's lists and the access records tell clients apart."""
    with pytest.raises(CommandError, match=reason):
        call_command(command, "02", name, stdout=StringIO())
    assert not BackboneClient.objects.exists()


def test_a_client_name_is_stored_trimmed() -> None:
    call_command("create_backbone_client", "02", " 税務システム ", stdout=StringIO())
    assert BackboneClient.objects.get().name == "税務システム"


def test_revoke_backbone_client_stops_its_key_at_once() -> None:
    out = StringIO()
    call_command("create_backbone_client", "02", "税 (old)", stdout=out)
    key = out.getvalue().strip().splitlines()[-1]
    client = BackboneClient.objects.get()

    call_command("revoke_backbone_client", str(client.pk), stdout=StringIO())

    answer = post_change(
        KeyedClient(client=client, key=key), address_change_body(number_system="02")
    )
    assert answer.status_code == 401
    with pytest.raises(CommandError, match="not revoked"):
        call_command("revoke_backbone_client", str(client.pk), stdout=StringIO())


def test_create_staff_user_reads_the_password_from_stdin_and_sets_one_role() -> None:
    from django.contrib.auth import get_user_model

    call_command(
        "create_staff_user", "tanaka", "clerk", stdin=StringIO("a long pass phrase 7\n"),
        stdout=StringIO(),
    )  # fmt: skip
    user = get_user_model().objects.get(username="tanaka")
    assert [group.name for group in user.groups.all()] == ["clerk"]
    assert not user.is_staff and not user.is_superuser
    assert user.check_password("a long pass phrase 7")

    call_command(
        "create_staff_user", "tanaka", "administrator", stdin=StringIO("a long pass phrase 7"),
        stdout=StringIO(),
    )  # fmt: skip
    user.refresh_from_db()
    assert [group.name for group in user.groups.all()] == ["administrator"] and user.is_staff

    for password, reason in (("", "standard input"), ("12345678", "一般的すぎます")):
        with pytest.raises(CommandError, match=reason):
            call_command(
                "create_staff_user", "suzuki", "clerk", stdin=StringIO(password),
                stdout=StringIO(),
            )  # fmt: skip
    assert not get_user_model().objects.filter(username="suzuki").exists()


@pytest.mark.parametrize("username", ["", "a b", "x" * 151, "tanaka\n"])
def test_create_staff_user_refuses_a_username_the_admin_would_refuse(username: str) -> None:
    from django.contrib.auth import get_user_model

    with pytest.raises(CommandError, match="username: "):
        call_command(
            "create_staff_user", username, "clerk", stdin=StringIO("a long pass phrase 7\n"),
            stdout=StringIO(),
        )  # fmt: skip
    assert not get_user_model().objects.exists()


def test_create_staff_token_refuses_a_blank_name() -> None:
    call_command(
        "create_staff_user", "tanaka", "clerk", stdin=StringIO("a long pass phrase 7\n"),
        stdout=StringIO(),
    )  # fmt: skip
    with pytest.raises(CommandError, match="must not be blank"):
        call_command("create_staff_token", "tanaka", " ", stdout=StringIO())
