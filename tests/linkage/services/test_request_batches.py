"""The request unit asks for many persons' serial numbers in one request, and hands a file's
pairs to the 住基GW server in one request, over real HTTP to the simulated peers; a person
the peer refuses goes into `error` with the reason and the others go on. The confirmation
unit moves a batch set-wise, each person once, with its own reason."""

from __future__ import annotations

from typing import Any

import pytest

from intermediate.models import CodeInformation, GatewayEntry, SerialNumberRequest
from intermediate.services import encrypted
from linkage.clients import intermediate
from linkage.clients.intermediate import ItemRefused
from linkage.models import CodeRequest, CodeRequestStage, CodeRequestStatus, CodeRequestTransition
from linkage.services.code_requests import (
    code_acquisition_file_assemble,
    code_acquisition_file_distribute,
    code_acquisition_file_send,
    code_requests_confirm,
    code_requests_serial_request,
    idempotency_key,
)
from tests.conftest import post_change
from tests.factories import address_change_body, backbone_client

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def peers(live_server: Any, settings: Any) -> None:
    settings.PEER_URLS = {
        **settings.PEER_URLS,
        "intermediate": f"{live_server.url}/sim/intermediate",
        "gateway": f"{live_server.url}/sim/gateway",
    }
    settings.CODE_REQUEST_ROUTE = "gateway"


def three_new_persons() -> list[CodeRequest]:
    jyuki = backbone_client(number_system="01", name="住基")
    for _ in range(3):
        assert post_change(jyuki, address_change_body()).status_code == 201
    return list(CodeRequest.objects.select_related("person").order_by("pk"))


def test_one_refused_person_does_not_hold_back_the_others(peers: None, settings: Any) -> None:
    requests = three_new_persons()
    # The intermediate server already has a live request for the second person (another
    # key): it refuses this one.
    second = requests[1]
    SerialNumberRequest.objects.create(
        lg_code=settings.LG_CODE,
        integrated_number=second.person.integrated_number,
        idempotency_key="elsewhere",
        **encrypted(second.person.individual_number),
    )

    moved = code_requests_serial_request(code_request_ids=[r.pk for r in requests])

    assert moved == 2
    rows = {r.pk: r for r in CodeRequest.objects.all()}
    assert [(rows[r.pk].status, rows[r.pk].stage) for r in requests] == [
        (CodeRequestStatus.REQUESTING, CodeRequestStage.SERIAL_REQUESTED),
        (CodeRequestStatus.ERROR, CodeRequestStage.PENDING),
        (CodeRequestStatus.REQUESTING, CodeRequestStage.SERIAL_REQUESTED),
    ]
    assert rows[second.pk].last_error == (
        "intermediate server refused the serial-number request (already_requested)"
    )
    assert set(SerialNumberRequest.objects.values_list("idempotency_key", flat=True)) == {
        "elsewhere",
        idempotency_key(requests[0]),
        idempotency_key(requests[2]),
    }

    # Run again (a redelivered message): nothing left pending, nothing sent.
    assert code_requests_serial_request(code_request_ids=[r.pk for r in requests]) == 0
    assert SerialNumberRequest.objects.count() == 3


def test_a_refusal_for_persons_another_run_moved_on_does_not_fail_them(
    peers: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run's request timed out and the task was sent again while the first copy was still
    on its way: the first copy went through and moved the persons on, and the peer answers the
    late copy `already_requested`. That refusal was for a step the persons have passed; it
    must not put them into `error` (a clerk would then ask again for persons on their way)."""
    requests = three_new_persons()
    ids = [r.pk for r in requests]
    real = intermediate.serial_number_requests

    def overtaken(batch: Any) -> Any:
        monkeypatch.setattr(intermediate, "serial_number_requests", real)
        assert code_requests_serial_request(code_request_ids=ids) == 3  # the other run
        return [
            ItemRefused("already_requested", "a code request for this person is in progress")
            for _ in batch
        ]

    monkeypatch.setattr(intermediate, "serial_number_requests", overtaken)
    assert code_requests_serial_request(code_request_ids=ids) == 0

    assert set(CodeRequest.objects.values_list("status", "stage")) == {
        (CodeRequestStatus.REQUESTING, CodeRequestStage.SERIAL_REQUESTED)
    }
    assert not CodeRequestTransition.objects.filter(to_status=CodeRequestStatus.ERROR).exists()
    assert SerialNumberRequest.objects.count() == 3


def test_a_files_pairs_reach_the_gateway_in_one_request(peers: None, settings: Any) -> None:
    requests = three_new_persons()
    assert code_requests_serial_request(code_request_ids=[r.pk for r in requests]) == 3
    SerialNumberRequest.objects.update(status=SerialNumberRequest.Status.ISSUED)
    for n, request in enumerate(SerialNumberRequest.objects.order_by("pk"), start=1):
        SerialNumberRequest.objects.filter(pk=request.pk).update(processing_serial_number=f"S{n}")
    file = code_acquisition_file_assemble()
    assert file is not None
    assert code_acquisition_file_send(file_id=file.pk)

    assert code_acquisition_file_distribute(file_id=file.pk) == 3

    assert set(CodeRequest.objects.values_list("stage", flat=True)) == {CodeRequestStage.SENT}
    by_serial = {entry.processing_serial_number: entry for entry in GatewayEntry.objects.all()}
    assert sorted(by_serial) == ["S1", "S2", "S3"]
    numbers = {r.person.individual_number for r in requests}
    assert {entry.individual_number for entry in by_serial.values()} == numbers
    # Again (the sweep's repeat): every row is sent already, nothing goes out twice.
    assert code_acquisition_file_distribute(file_id=file.pk) == 0
    assert GatewayEntry.objects.count() == 3


def test_confirmation_moves_each_person_once_with_its_own_reason(
    peers: None, settings: Any
) -> None:
    requests = three_new_persons()
    CodeRequest.objects.update(stage=CodeRequestStage.SENT)
    acquired, refused, waiting = (r.person.integrated_number for r in requests)
    CodeInformation.objects.create(lg_code=settings.LG_CODE, integrated_number=acquired, code="c1")
    for number, status, reason in (
        (acquired, SerialNumberRequest.Status.ACQUIRED, ""),
        (refused, SerialNumberRequest.Status.ERROR, "individual number was invalidated (changed)"),
        (waiting, SerialNumberRequest.Status.ISSUED, ""),
    ):
        SerialNumberRequest.objects.create(
            lg_code=settings.LG_CODE,
            integrated_number=number,
            idempotency_key=f"k-{number}",
            status=status,
            error_reason=reason,
            **encrypted("983205673214"),
        )

    assert code_requests_confirm() == {"acquired": 1, "error": 1, "pending": 1}

    rows = {r.person.integrated_number: r for r in CodeRequest.objects.select_related("person")}
    assert (rows[acquired].status, rows[acquired].last_error) == ("requested", "")
    assert (rows[refused].status, rows[refused].last_error) == (
        "error",
        "individual number was invalidated (changed)",
    )
    assert rows[waiting].status == "requesting"
    assert list(
        CodeRequestTransition.objects.filter(to_status__in=["requested", "error"])
        .order_by("to_status")
        .values_list("code_request__person__integrated_number", "to_status", "cause")
    ) == [
        (refused, "error", "confirmation: intermediate server reports an error"),
        (acquired, "requested", "confirmation: code acquired"),
    ]
    # Again: the moved rows are not asked about, the waiting one stays waiting.
    assert code_requests_confirm() == {"acquired": 0, "error": 0, "pending": 1}
    assert CodeRequestTransition.objects.count() == 5  # 3 opened + 2 confirmed


def test_each_batch_of_a_confirmation_run_is_reported(peers: None) -> None:
    """The task renews its hold on the run after each batch (linkage.tasks._alone)."""
    three_new_persons()
    CodeRequest.objects.update(stage=CodeRequestStage.SENT)
    batches: list[int] = []
    counts = code_requests_confirm(batch_size=2, progress=lambda: batches.append(1))
    assert counts == {"acquired": 0, "error": 0, "pending": 3}
    assert len(batches) == 2
