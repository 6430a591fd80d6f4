"""The simulated intermediate server's rules that linkage relies on: one request per
idempotency key, and no second live request for one person (claim 2)."""

from __future__ import annotations

import pytest

from intermediate.models import SerialNumberRequest
from intermediate.services import (
    CodeAnswer,
    Refused,
    SerialRequestItem,
    codes_store,
    serial_number_requests_accept,
)

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
