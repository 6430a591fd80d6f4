"""Every hop of the simulated national side takes a batch: one request and one message for
many persons, each person answered alone, so one bad item never fails the others, and a
repeated batch changes nothing. The messages are counted on the real broker (a purge says
how many were queued)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from config import celery_app
from config.sandbox import institution_key, network_key
from intermediate.models import (
    CodeInformation,
    GatewayEntry,
    NationalInquiry,
    NetworkSerial,
    SerialNumberRequest,
)
from intermediate.services import encrypted
from intermediate.tasks import simulators_sweep
from intermediate.views import MAX_BATCH
from primitives.numbers import integrated_number_from_serial

pytestmark = pytest.mark.django_db

NUMBERS = ["983205673214", "438231985323", "124681012142"]
INTEGRATED = [integrated_number_from_serial(n) for n in range(1, 5)]
SERIAL_REQUESTS = "/sim/intermediate/serial-number-requests"


@pytest.fixture(autouse=True)
def empty_queues() -> None:
    celery_app.control.purge()


def queued() -> int:
    """How many messages wait on the broker (and take them off)."""
    return int(celery_app.control.purge() or 0)


def as_institution(settings: Any) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {institution_key(settings.LG_CODE)}")


def as_network() -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {network_key()}")


def post(client: Client, path: str, body: dict[str, Any], captured: Any) -> Any:
    with captured(execute=True):
        return client.post(path, body, content_type="application/json")


def serial_request(integrated: str, number: str, key: str) -> dict[str, str]:
    return {"integrated_number": integrated, "individual_number": number, "idempotency_key": key}


def test_a_batch_of_serial_number_requests_answers_each_person_alone(
    settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = as_institution(settings)
    # A live request for the third person already exists under another key.
    single = post(
        client,
        SERIAL_REQUESTS,
        {"lg_code": settings.LG_CODE, **serial_request(INTEGRATED[2], NUMBERS[2], "other")},
        django_capture_on_commit_callbacks,
    )
    assert single.status_code == 202  # the single form is answered as it always was
    assert queued() == 1
    batch = {
        "lg_code": settings.LG_CODE,
        "requests": [
            serial_request(INTEGRATED[0], NUMBERS[0], "k-19"),
            serial_request(INTEGRATED[1], "12345", "k-27"),  # malformed number
            serial_request(INTEGRATED[2], NUMBERS[2], "k-35"),
            serial_request(INTEGRATED[3], NUMBERS[1], "k-43"),
        ],
    }

    response = post(client, SERIAL_REQUESTS, batch, django_capture_on_commit_callbacks)

    assert response.status_code == 200
    assert response.json()["results"] == [
        {"idempotency_key": "k-19", "status": "pending"},
        {
            "status": "refused",
            "code": "invalid",
            "detail": "individual_number is missing or malformed",
        },
        {
            "status": "refused",
            "code": "already_requested",
            "detail": "a code request for this person is in progress or done",
        },
        {"idempotency_key": "k-43", "status": "pending"},
    ]
    assert sorted(SerialNumberRequest.objects.values_list("idempotency_key", flat=True)) == [
        "k-19",
        "k-43",
        "other",
    ]
    assert queued() == 1  # one message carries both new persons on

    again = post(client, SERIAL_REQUESTS, batch, django_capture_on_commit_callbacks)
    assert again.json() == response.json()
    assert SerialNumberRequest.objects.count() == 3
    assert queued() == 0  # nothing is passed on twice
    for body in (response.content, again.content):
        assert not any(number.encode() in body for number in NUMBERS)


@pytest.mark.parametrize(
    "requests",
    [
        [],
        "not a list",
        [1, 2],
        [serial_request(INTEGRATED[0], NUMBERS[0], "k")] * (MAX_BATCH + 1),
    ],
    ids=["empty", "not-a-list", "not-objects", "too-many"],
)
def test_a_malformed_batch_is_refused_whole(
    settings: Any, requests: Any, django_capture_on_commit_callbacks: Any
) -> None:
    response = post(
        as_institution(settings),
        SERIAL_REQUESTS,
        {"lg_code": settings.LG_CODE, "requests": requests},
        django_capture_on_commit_callbacks,
    )
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "detail": f"requests must be a list of 1 to {MAX_BATCH} objects",
    }
    assert SerialNumberRequest.objects.count() == 0
    assert queued() == 0


def test_pairs_are_stored_once_and_passed_on_in_one_message(
    settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    entries = [
        {"processing_serial_number": "P1", "individual_number": NUMBERS[0]},
        {"processing_serial_number": "p-bad", "individual_number": NUMBERS[1]},
        {"processing_serial_number": "P3", "individual_number": NUMBERS[2]},
        {"processing_serial_number": "P1", "individual_number": NUMBERS[0]},  # repeated
    ]
    client = as_institution(settings)

    response = post(
        client, "/sim/gateway/entries", {"entries": entries}, django_capture_on_commit_callbacks
    )

    assert [result["status"] for result in response.json()["results"]] == [
        "accepted",
        "refused",
        "accepted",
        "accepted",
    ]
    assert sorted(GatewayEntry.objects.values_list("processing_serial_number", flat=True)) == [
        "P1",
        "P3",
    ]
    assert {entry.individual_number for entry in GatewayEntry.objects.all()} == {
        NUMBERS[0],
        NUMBERS[2],
    }
    assert queued() == 1

    again = post(
        client, "/sim/gateway/entries", {"entries": entries}, django_capture_on_commit_callbacks
    )
    assert again.status_code == 200
    assert GatewayEntry.objects.count() == 2
    assert queued() == 0


def test_the_national_answers_and_the_codes_are_taken_per_serial_number(
    settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    for n, serial in enumerate(["P1", "P2"], start=1):
        SerialNumberRequest.objects.create(
            lg_code=settings.LG_CODE,
            integrated_number=INTEGRATED[n],
            idempotency_key=f"k{n}",
            processing_serial_number=serial,
            status=SerialNumberRequest.Status.ISSUED,
            **encrypted(NUMBERS[n]),
        )
        NetworkSerial.objects.create(
            processing_serial_number=serial,
            request_key=f"k{n}",
            lg_code=settings.LG_CODE,
            integrated_number=INTEGRATED[n],
        )
    network = as_network()

    answers = post(
        network,
        "/sim/network/resident-codes",
        {
            "answers": [
                {"processing_serial_number": "P1", "resident_code": "12345678901"},
                {"processing_serial_number": "P2", "error": "individual number not registered"},
                {"processing_serial_number": "P404", "resident_code": "12345678901"},
            ]
        },
        django_capture_on_commit_callbacks,
    )
    assert [r["status"] for r in answers.json()["results"]] == ["accepted", "accepted", "refused"]
    assert queued() == 1
    p1 = NetworkSerial.objects.get(processing_serial_number="P1")
    assert len(p1.code) == 32 and p1.answered_at is not None

    codes = post(
        network,
        "/sim/intermediate/codes",
        {
            "codes": [
                {"processing_serial_number": "P1", "code": p1.code},
                {"processing_serial_number": "P2", "error": "individual number not registered"},
                {"processing_serial_number": "P404", "code": "x"},
            ]
        },
        django_capture_on_commit_callbacks,
    )
    assert [r["status"] for r in codes.json()["results"]] == ["stored", "stored", "refused"]
    assert list(CodeInformation.objects.values_list("integrated_number", "code")) == [
        (INTEGRATED[1], p1.code)
    ]
    assert dict(SerialNumberRequest.objects.values_list("processing_serial_number", "status")) == {
        "P1": "acquired",
        "P2": "error",
    }


def test_the_sweep_enqueues_a_backlog_in_batches_not_a_message_per_row(settings: Any) -> None:
    settings.SIMULATOR_STALLED_AFTER = 60
    settings.SIMULATOR_BATCH = 500
    sealed = encrypted(NUMBERS[0])
    NationalInquiry.objects.bulk_create(
        NationalInquiry(processing_serial_number=f"P{i}", **sealed) for i in range(1200)
    )
    NationalInquiry.objects.update(received_at=timezone.now() - datetime.timedelta(minutes=5))

    assert simulators_sweep() == 1200
    assert queued() == 3  # 500 + 500 + 200 rows
    assert simulators_sweep() == 0  # claimed: not again within the window
    assert queued() == 0


@pytest.mark.parametrize("body", [b"{", b'{"requests": ' + b"[" * 5000 + b"]" * 5000 + b"}"])
def test_a_body_that_is_not_json_is_400_not_a_failure(settings: Any, body: bytes) -> None:
    response = as_institution(settings).post(SERIAL_REQUESTS, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_json"
    assert not SerialNumberRequest.objects.exists()
