"""API keys expire, rotate without downtime and are rate limited, each on its own."""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.utils import timezone

from linkage import guards
from linkage.models import AccessRecord, BackboneClient, Person
from linkage.services.backbone_clients import backbone_client_revoke
from tests.conftest import api_for, bearer, post_change
from tests.factories import KeyedClient, address_change_body, backbone_client

PERSON = "/api/v1/persons/000000000000019"  # nobody: 404 for a good key, 401 for a bad one


@pytest.fixture(autouse=True)
def fresh_rate_counts(rate_clock: list[float]) -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def with_key(key: str) -> Any:
    client = api_for(None)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def saved(pk: int, **fields: Any) -> None:
    """An administrator's edit of a client, saved as the admin saves it."""
    client = BackboneClient.objects.get(pk=pk)
    for name, value in fields.items():
        setattr(client, name, value)
    client.save(update_fields=list(fields))


def test_an_expired_key_is_refused_and_the_refusal_recorded(jyuki: KeyedClient) -> None:
    assert with_key(jyuki.key).get(PERSON).status_code == 404
    saved(jyuki.client.pk, expires_at=timezone.now() - datetime.timedelta(seconds=1))
    refused = with_key(jyuki.key).get(PERSON)
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["code"] == "bad_key"
    record = AccessRecord.objects.order_by("-pk").first()
    assert record is not None and record.action == "api_auth_failed"


def test_a_rotated_key_keeps_the_old_one_for_the_grace_period(jyuki: KeyedClient) -> None:
    out = StringIO()
    call_command(
        "rotate_api_key", "backbone", str(jyuki.client.pk), "--grace-hours", "2", stdout=out
    )
    new_key = out.getvalue().strip().splitlines()[-1]
    assert new_key != jyuki.key
    assert with_key(new_key).get(PERSON).status_code == 404
    assert with_key(jyuki.key).get(PERSON).status_code == 404  # still, for two hours
    saved(jyuki.client.pk, previous_key_valid_until=timezone.now() - datetime.timedelta(seconds=1))
    assert with_key(jyuki.key).get(PERSON).status_code == 401
    assert with_key(new_key).get(PERSON).status_code == 404
    client = BackboneClient.objects.get(pk=jyuki.client.pk)
    assert client.key_prefix == new_key[:8]
    assert new_key not in str(BackboneClient.objects.filter(pk=client.pk).values().get())


def test_rotating_a_revoked_or_unknown_key_is_refused(jyuki: KeyedClient) -> None:
    with pytest.raises(CommandError, match="no backbone key #999"):
        call_command("rotate_api_key", "backbone", "999")


@pytest.mark.parametrize("grace", ["-1", "nan", "inf", "1e12", "745", "soon"])
@pytest.mark.parametrize("command", ["rotate_api_key", "rotate_oauth_secret"])
def test_a_grace_period_that_is_not_hours_a_rotation_can_end_is_refused(
    jyuki: KeyedClient, command: str, grace: str
) -> None:
    """Refused before anything is read or changed, not a traceback: a grace that never ends
    would leave the old key working."""
    digest = jyuki.client.key_digest
    target = ["backbone", str(jyuki.client.pk)] if command == "rotate_api_key" else ["x"]
    with pytest.raises(CommandError, match="--grace-hours"):
        call_command(command, *target, "--grace-hours", grace)
    jyuki.client.refresh_from_db()
    assert jyuki.client.key_digest == digest


def test_a_staff_token_rotates_too(staff_user: Any) -> None:
    client = bearer(staff_user)
    assert client.get("/api/v1/code-requests").status_code == 200
    token = staff_user.api_tokens.get()
    out = StringIO()
    call_command("rotate_api_key", "staff", str(token.pk), "--grace-hours", "0", stdout=out)
    new_key = out.getvalue().strip().splitlines()[-1]
    assert client.get("/api/v1/code-requests").status_code == 401  # no grace: ended now
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {new_key}")
    assert client.get("/api/v1/code-requests").status_code == 200


def test_each_key_has_its_own_rate_limit(db: None) -> None:
    limited = backbone_client(number_system="02", name="税")
    BackboneClient.objects.filter(pk=limited.client.pk).update(rate_limit="3/m")
    other = backbone_client(number_system="03", name="国保")
    for _ in range(3):
        assert with_key(limited.key).get(PERSON).status_code == 404
    refused = with_key(limited.key).get(PERSON)
    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/problem+json"
    assert refused["Retry-After"] == "30"  # the rest of the (pinned) minute
    assert with_key(other.key).get(PERSON).status_code == 404  # its own budget


SHARED_CACHE = {
    "default": {"BACKEND": "config.cache.RedisCache", "LOCATION": "redis://127.0.0.1:6379/13"}
}


@pytest.mark.parametrize("shared", [False, True], ids=["process cache", "redis"])
def test_a_key_may_send_again_when_its_window_turns(
    jyuki: KeyedClient, settings: Any, rate_clock: list[float], shared: bool
) -> None:
    """Counted per window of the rate's period: refused for the rest of the minute (Retry-After
    says how long), allowed again in the next; the cache holds one integer per key and window,
    whatever the rate. The same with the reference deployment's Redis (config.cache counts in
    one round trip)."""
    if shared:
        settings.CACHES = SHARED_CACHE
        cache.clear()
    settings.API_RATE_LIMIT = "2/m"
    for _ in range(2):
        assert with_key(jyuki.key).get(PERSON).status_code == 404
    refused = with_key(jyuki.key).get(PERSON)
    assert refused.status_code == 429
    assert refused["Retry-After"] == "30"  # pinned 30 s into the minute
    window = int(rate_clock[0] // 60)
    assert cache.get(f"throttle:BackboneClient:{jyuki.client.pk}:{window}") == 3
    rate_clock[0] += 29
    assert with_key(jyuki.key).get(PERSON).status_code == 429
    assert with_key(jyuki.key).get(PERSON)["Retry-After"] == "1"
    rate_clock[0] += 1  # the next minute
    assert with_key(jyuki.key).get(PERSON).status_code == 404
    assert cache.get(f"throttle:BackboneClient:{jyuki.client.pk}:{window + 1}") == 1
    if shared:
        cache.clear()


def test_a_cache_that_cannot_be_reached_lets_the_changes_through_uncounted(
    jyuki: KeyedClient,
    settings: Any,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    unreachable_cache: dict[str, Any],
) -> None:
    """Redis down or hung: the rate limit cannot count, and the address changes are stored
    all the same (a limit refused would stop every system's work); one WARNING says so. A
    hung Redis costs the first request the cache's timeout, not the system's TCP timeout;
    the process then leaves the cache alone, so the next requests do not wait (before,
    each waited for the rate's count and again for the code-request drain's flag)."""
    settings.CACHES = unreachable_cache
    settings.API_RATE_LIMIT = "1/m"
    started = time.monotonic()
    with caplog.at_level("WARNING", logger="linkage.guards"):
        answers = [post_change(jyuki, address_change_body()) for _ in range(3)]
    seconds = time.monotonic() - started
    settings.CACHES = SHARED_CACHE

    assert [answer.status_code for answer in answers] == [201, 201, 201]
    assert Person.objects.count() == 3
    assert [record.getMessage() for record in caplog.records] == [
        "API rate limits are not counted: the cache cannot be reached"
    ]
    assert seconds < settings.REDIS_CACHE_OPTIONS["socket_timeout"] + 1.5
    # The cache back: once the process tries it again, the key is counted again.
    guards.reset()
    cache.clear()
    assert post_change(jyuki, address_change_body()).status_code == 201
    assert post_change(jyuki, address_change_body()).status_code == 429
    cache.clear()


def test_the_default_rate_applies_to_keys_without_their_own(
    jyuki: KeyedClient, settings: Any
) -> None:
    settings.API_RATE_LIMIT = "2/m"
    assert with_key(jyuki.key).get(PERSON).status_code == 404
    assert with_key(jyuki.key).get(PERSON).status_code == 404
    assert with_key(jyuki.key).get(PERSON).status_code == 429


def test_a_key_expires_on_time_though_its_client_was_read_before(
    jyuki: KeyedClient, settings: Any
) -> None:
    """The clients a process keeps (BACKBONE_CLIENTS_CACHE_SECONDS) are checked against the
    clock on every request: an expiry or the end of a rotation's grace needs no new read."""
    settings.BACKBONE_CLIENTS_CACHE_SECONDS = 3600
    saved(jyuki.client.pk, expires_at=timezone.now() + datetime.timedelta(seconds=1))
    assert with_key(jyuki.key).get(PERSON).status_code == 404  # read, and kept for an hour
    time.sleep(1.1)
    assert with_key(jyuki.key).get(PERSON).status_code == 401


def test_another_processs_revocation_counts_here_within_the_cache_seconds(
    jyuki: KeyedClient, settings: Any
) -> None:
    """A key revoked by another process (a command, another web worker: here an UPDATE that
    this process does not see) is refused once this process reads the clients again."""
    settings.BACKBONE_CLIENTS_CACHE_SECONDS = 0.5
    assert with_key(jyuki.key).get(PERSON).status_code == 404
    BackboneClient.objects.filter(pk=jyuki.client.pk).update(revoked_at=timezone.now())
    time.sleep(0.6)
    assert with_key(jyuki.key).get(PERSON).status_code == 401


def test_a_revocation_and_a_new_key_count_at_once_in_the_process_that_made_them(
    jyuki: KeyedClient, settings: Any
) -> None:
    settings.BACKBONE_CLIENTS_CACHE_SECONDS = 3600
    assert with_key(jyuki.key).get(PERSON).status_code == 404
    tax = backbone_client(number_system="02", name="税")
    assert with_key(tax.key).get(PERSON).status_code == 404
    backbone_client_revoke(client=jyuki.client)
    assert with_key(jyuki.key).get(PERSON).status_code == 401
    assert with_key(tax.key).get(PERSON).status_code == 404
