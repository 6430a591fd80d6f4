"""The sandbox is apart and its peers authenticate; the keys are apart and the blind index
rotates; the daily jobs are scheduled and a broken chain is shown."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from celery.schedules import crontab
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from config.sandbox import institution_key
from intermediate.models import SerialNumberRequest
from intermediate.services import (
    SerialRequestItem,
    code_acquisition_file_accept,
    serial_number_requests_accept,
    serial_numbers_issued,
)
from linkage.models import AuditChainVerification, Person
from linkage.selectors import WORK_FIGURES_KEY, person_by_individual_number
from linkage.services.audit import audit_chain_verify
from primitives.crypto import audit_digest, blind_index, keyring
from tests.config.test_settings import KEY_A, KEY_B, KEY_C, KEY_D, PEERS, manage
from tests.conftest import post_change
from tests.factories import KeyedClient, address_change_body
from tests.residents import register, signed_in

OTHER_LG_CODE = "131016"
NUMBER = "983205673214"
INTEGRATED = "000000000000019"


# --- The simulated peers ---------------------------------------------------------------------


@pytest.fixture
def two_institutions(settings: Any) -> dict[str, str]:
    keys = {settings.LG_CODE: "key-of-" + settings.LG_CODE, OTHER_LG_CODE: "key-of-other"}
    settings.SIMULATOR_INSTITUTION_KEYS = keys
    return keys


def as_institution(key: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def a_file(lg_code: str) -> str:
    (outcome,) = serial_number_requests_accept(
        lg_code=lg_code,
        items=[
            SerialRequestItem(
                integrated_number=INTEGRATED, individual_number=NUMBER, idempotency_key="k1"
            )
        ],
    )
    assert isinstance(outcome, tuple)
    request, _ = outcome
    serial_numbers_issued({request.pk: "S1"})
    file = code_acquisition_file_accept(
        lg_code=lg_code, integrated_numbers=[INTEGRATED], idempotency_key="f1"
    )
    return file.reception_number


def test_a_peer_without_a_callers_key_answers_401(db: None) -> None:
    for path in (
        "/sim/intermediate/code-status-inquiries",
        "/sim/intermediate/serial-number-requests",
        "/sim/network/serial-numbers",
        "/sim/national/inquiries",
        "/sim/cs/forwards",
        "/sim/gateway/entries",
    ):
        for client in (Client(), as_institution("guessed")):
            response = client.post(path, {}, content_type="application/json")
            assert response.status_code == 401, path


def test_an_institution_is_not_a_network_peer(db: None, settings: Any) -> None:
    own = as_institution(institution_key(settings.LG_CODE))
    response = own.post("/sim/network/serial-numbers", {}, content_type="application/json")
    assert response.status_code == 401


def test_a_code_acquisition_file_is_its_requesters_until_released(
    db: None, settings: Any, two_institutions: dict[str, str]
) -> None:
    reception_number = a_file(settings.LG_CODE)
    path = f"/sim/intermediate/code-acquisition-files/{reception_number}"
    other = as_institution(two_institutions[OTHER_LG_CODE])
    own = as_institution(two_institutions[settings.LG_CODE])

    assert Client().get(path).status_code == 401
    assert other.get(path).status_code == 404  # another institution's file is unknown to it
    fetched = own.get(path)
    assert fetched.status_code == 200
    assert fetched.json()["entries"][0]["individual_number"] == NUMBER

    assert other.delete(path).status_code == 404
    assert own.delete(path).status_code == 204
    assert own.get(path).status_code == 410
    assert own.delete(path).status_code == 204  # releasing again changes nothing
    request = SerialNumberRequest.objects.get()
    assert request.individual_number_encrypted == "" and request.individual_number_index == ""


def test_an_institution_may_only_ask_for_itself(
    db: None, settings: Any, two_institutions: dict[str, str]
) -> None:
    other = as_institution(two_institutions[OTHER_LG_CODE])
    response = other.post(
        "/sim/intermediate/code-status-inquiries",
        {"lg_code": settings.LG_CODE, "integrated_numbers": [INTEGRATED]},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert response.json()["code"] == "wrong_institution"


def test_check_deploy_refuses_the_sandbox_in_production() -> None:
    production = {
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": "s" * 60,
        "FIELD_ENCRYPTION_KEYS": KEY_A,
        "BLIND_INDEX_KEY": KEY_B,
        "AUDIT_LOG_KEY": KEY_C,
        "ALLOWED_HOSTS": "linkage.example.lg.jp",
        **PEERS,
    }
    on = manage("check", "--deploy", SIMULATORS_ENABLED="1", **production)
    assert on.returncode != 0
    assert "linkage.E010" in on.stderr + on.stdout
    off = manage("check", "--deploy", "--fail-level", "ERROR", **production)
    assert off.returncode == 0, off.stderr


# --- The keys --------------------------------------------------------------------------------


@pytest.fixture
def fresh_keys(settings: Any) -> Iterator[Any]:
    keyring.cache_clear()
    yield settings
    keyring.cache_clear()


def test_the_audit_chain_is_keyed_by_its_own_key(fresh_keys: Any, clerk: Any) -> None:
    signed_in(clerk).get(reverse("person_search"), {"name": "やまだ"})
    digest = audit_digest(b"x")
    fresh_keys.BLIND_INDEX_KEYS = [KEY_D, fresh_keys.BLIND_INDEX_KEY]
    keyring.cache_clear()
    assert audit_digest(b"x") == digest, "the blind-index key does not key the chain"
    assert audit_chain_verify().broken is None
    fresh_keys.AUDIT_LOG_KEY = KEY_A
    keyring.cache_clear()
    assert audit_digest(b"x") != digest
    assert audit_chain_verify().broken is not None


def test_the_blind_index_key_rotates_online_and_verified(
    fresh_keys: Any, jyuki: KeyedClient
) -> None:
    old = fresh_keys.BLIND_INDEX_KEY
    residents = [register(jyuki) for _ in range(3)]
    fresh_keys.BLIND_INDEX_KEYS = [KEY_D, old]
    keyring.cache_clear()

    # Mid-rotation: every person is still found, and a change is an update, not a new person.
    for someone in residents:
        assert person_by_individual_number(someone.individual_number) == someone.person
    again = address_change_body(
        number_system="01",
        address_number=residents[0].address_number,
        individual_number=residents[0].individual_number,
    )
    assert post_change(jyuki, again).status_code == 200
    fresh = address_change_body(number_system="01")
    assert post_change(jyuki, fresh).status_code == 201
    with pytest.raises(CommandError, match="still indexed under older keys"):
        call_command("rotate_blind_index_key", "--check", stdout=StringIO())
    with pytest.raises(CommandError, match="rotate_blind_index_key"):
        call_command("import_address_changes", __file__, stdout=StringIO(), stderr=StringIO())
    assert not list(Path(__file__).parent.glob("*.rejects.csv*"))  # refused: no report left

    out = StringIO()
    call_command("rotate_blind_index_key", stdout=out)
    assert "3 persons re-indexed" in out.getvalue()
    call_command("rotate_blind_index_key", "--check", stdout=StringIO())

    fresh_keys.BLIND_INDEX_KEYS = [KEY_D]  # the old key removed
    keyring.cache_clear()
    for someone in residents:
        person = person_by_individual_number(someone.individual_number)
        assert person is not None and person.individual_number == someone.individual_number
        assert person.individual_number_index == blind_index(someone.individual_number)
    assert Person.objects.count() == 4


# --- The daily jobs --------------------------------------------------------------------------


def test_beat_runs_the_purge_and_the_chain_check_daily(settings: Any) -> None:
    tasks = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    for task in ("linkage.tasks.individual_numbers_purge", "linkage.tasks.audit_chain_verify"):
        schedule = tasks[task]
        assert isinstance(schedule, crontab)
        assert len(schedule.hour) == 1 and len(schedule.minute) == 1  # once a day


def test_the_chain_check_is_kept_and_a_break_is_an_alert(clerk: Any, db: None) -> None:
    from linkage.tasks import audit_chain_verify as task

    signed_in(clerk).get(reverse("person_search"), {"name": "やまだ"})
    assert task() is True
    verification = AuditChainVerification.objects.get()
    assert verification.holds and verification.records >= 1
    page = signed_in(clerk).get(reverse("home")).content.decode()
    assert 'data-audit-chain="holds"' in page and 'role="alert"' not in page

    AuditChainVerification.objects.create(
        records=5, last_hash="0" * 64, holds=False, broken_record_id=3, reason="changed"
    )
    cache.delete(WORK_FIGURES_KEY)  # the dashboard's refresh period is over
    page = signed_in(clerk).get(reverse("home")).content.decode()
    assert 'data-audit-chain="broken"' in page and "#3" in page


def test_an_overdue_chain_check_is_shown(clerk: Any, db: None) -> None:
    import datetime

    from django.utils import timezone

    verification = AuditChainVerification.objects.create(records=1, last_hash="0" * 64, holds=True)
    AuditChainVerification.objects.filter(pk=verification.pk).update(
        verified_at=timezone.now() - datetime.timedelta(days=3)
    )
    page = signed_in(clerk).get(reverse("home")).content.decode()
    assert 'data-audit-chain="overdue"' in page


def test_a_trusted_proxy_that_is_no_address_stops_start_up() -> None:
    result = manage(
        "check", DJANGO_SETTINGS_MODULE="config.settings.local", TRUSTED_PROXIES="proxy"
    )
    assert result.returncode != 0
    assert "linkage.E011" in result.stderr + result.stdout
