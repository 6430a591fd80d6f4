"""The simulated intermediate server's rules that linkage relies on: one request per
idempotency key, and no second live request for one person (claim 2)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, transaction

from intermediate.models import SerialNumberRequest
from intermediate.services import (
    CodeAnswer,
    Refused,
    SerialRequestItem,
    codes_store,
    serial_number_requests_accept,
)
from tests.conftest import run_together

pytestmark = pytest.mark.django_db


def accept(key: str) -> tuple[SerialNumberRequest, bool]:
    (outcome,) = serial_number_requests_accept(
        lg_code="141003",
        items=[
            SerialRequestItem(
                integrated_number="000000000000019",
                individual_number="983205673214",
                idempotency_key=key,
            )
        ],
    )
    if isinstance(outcome, Refused):
        raise outcome
    return outcome


def test_the_same_idempotency_key_is_one_request() -> None:
    first, created = accept("141003-000000000000019-1")
    again, created_again = accept("141003-000000000000019-1")
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert SerialNumberRequest.objects.count() == 1


def test_a_second_live_request_for_one_person_is_refused_until_the_first_failed() -> None:
    first, _ = accept("141003-000000000000019-1")
    with pytest.raises(Refused) as refused:
        accept("141003-000000000000019-2")
    assert (refused.value.status, refused.value.code) == (409, "already_requested")

    SerialNumberRequest.objects.filter(pk=first.pk).update(processing_serial_number="P1")
    codes_store(
        [CodeAnswer(processing_serial_number="P1", error="individual number not registered")]
    )
    _, created = accept("141003-000000000000019-2")
    assert created


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite serialises writers at BEGIN IMMEDIATE: the repeat cannot read while the "
    "first copy is open",
)
@pytest.mark.django_db(transaction=True)
def test_a_repeat_whose_first_copy_commits_meanwhile_is_answered_with_it() -> None:
    """A sender that timed out sends its batch again while the first copy is still being
    stored. The first copy commits between the repeat's reads: the repeat finds it by its key
    and is answered with it, not refused as a second request for the same person."""
    key = "141003-000000000000019-1"
    first_stored, commit_now, committed = threading.Event(), threading.Event(), threading.Event()
    answers: dict[str, Any] = {}

    def first_copy() -> None:
        with transaction.atomic():
            answers["first"] = accept(key)
            first_stored.set()
            commit_now.wait(10)
        committed.set()

    def between_reads(execute: Any, sql: str, *args: Any) -> Any:
        result = execute(sql, *args)
        if "intermediate_serialnumberrequest" in sql and not commit_now.is_set():
            commit_now.set()  # the repeat's first read is done: the first copy commits now
            committed.wait(10)
        return result

    def repeat() -> None:
        first_stored.wait(10)
        with connection.execute_wrapper(between_reads):
            try:
                answers["repeat"] = accept(key)
            except Refused as refused:
                answers["repeat"] = refused

    _, errors = run_together([first_copy, repeat])
    assert not errors, errors
    first, repeat = answers["first"], answers["repeat"]
    assert not isinstance(repeat, Refused), repeat
    assert first == (SerialNumberRequest.objects.get(), True)
    assert repeat == (SerialNumberRequest.objects.get(), False)
    assert SerialNumberRequest.objects.count() == 1
