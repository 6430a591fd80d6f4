"""Seed figure 6 (S10-S100), figure 11 and the confirmation / error-list path, end to end with
a real worker process, a real broker and real HTTP between linkage and every peer."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings

from backbone.models import ReceivedNotice, SerialNumberNotice
from intermediate.models import (
    CodeAcquisitionFileRequest,
    CodeInformation,
    GatewayEntry,
    NetworkSerial,
    SerialNumberRequest,
)
from intermediate.services import code_derive, registry_invalidate
from intermediate.simulation import simulator_control_set
from linkage.models import CodeRequest, CodeRequestStatus, Notice, Person
from linkage.selectors import code_requests_failed
from linkage.services.code_requests import code_request_retry
from primitives.vocabulary import NoticeEvent
from tests.chain.conftest import Chain, enrolled
from tests.conftest import post_change
from tests.factories import address_change_body, resident


def register(chain: Chain, *, enrol: bool = True) -> tuple[Person, str]:
    someone = resident()
    resident_code = enrolled(someone.individual_number) if enrol else ""
    answer = post_change(chain.jyuki, address_change_body(resident=someone))
    assert answer.status_code == 201
    return Person.objects.get(integrated_number=answer.json()["integrated_number"]), resident_code


def statuses(persons: list[Person]) -> set[str]:
    return set(CodeRequest.objects.filter(person__in=persons).values_list("status", flat=True))


def assert_requested_exactly_once(person: Person, resident_code: str) -> None:
    number = person.integrated_number
    assert list(
        CodeInformation.objects.filter(integrated_number=number).values_list("code", flat=True)
    ) == [code_derive(lg_code=settings.LG_CODE, resident_code=resident_code)]
    assert SerialNumberRequest.objects.filter(integrated_number=number).count() == 1
    assert NetworkSerial.objects.filter(integrated_number=number).count() == 1
    transitions = list(person.code_request.transitions.values_list("from_status", "to_status"))
    assert transitions == [("not_requested", "requesting"), ("requesting", "requested")]


def test_a_new_person_ends_requested_with_one_code(chain: Chain) -> None:
    person, resident_code = register(chain)
    chain.wait_for(lambda: statuses([person]) == {"requested"}, "the code request to be confirmed")

    assert_requested_exactly_once(person, resident_code)
    code_request = CodeRequest.objects.get(person=person)
    assert code_request.stage == "sent"
    assert code_request.processing_serial_number
    assert code_request.reception_number
    # First embodiment: S34 went to the 住基 system as a signed code_request.serial_issued
    # notice, which it passed on to the CS.
    notice = SerialNumberNotice.objects.get(
        processing_serial_number=code_request.processing_serial_number
    )
    assert notice.forwarded_at is not None
    assert Notice.objects.get(event=NoticeEvent.SERIAL_ISSUED).status == Notice.Status.DELIVERED
    received = ReceivedNotice.objects.get(event=NoticeEvent.SERIAL_ISSUED)
    assert "individual_number" not in received.data  # not kept outside the encrypted pair
    assert not GatewayEntry.objects.exists()
    # The file was released once sent on: the intermediate server holds its numbers no more.
    from intermediate.models import CodeAcquisitionFileRequest

    assert CodeAcquisitionFileRequest.objects.get().released_at is not None
    request = SerialNumberRequest.objects.get(integrated_number=person.integrated_number)
    assert request.individual_number_encrypted == ""


def test_the_code_depends_on_the_municipality() -> None:
    assert code_derive(lg_code="141003", resident_code="12345678901") != code_derive(
        lg_code="131016", resident_code="12345678901"
    )


def test_second_embodiment_goes_through_the_gateway(chain: Chain, settings: Any) -> None:
    chain.worker.kill()
    chain.worker.start(CODE_REQUEST_ROUTE="gateway")
    person, resident_code = register(chain)
    chain.wait_for(lambda: statuses([person]) == {"requested"}, "the code request via 住基GW")

    assert_requested_exactly_once(person, resident_code)
    serial = CodeRequest.objects.get(person=person).processing_serial_number
    assert GatewayEntry.objects.get(processing_serial_number=serial).forwarded_at is not None
    assert not SerialNumberNotice.objects.exists()


def test_many_pending_persons_share_code_acquisition_files(chain: Chain) -> None:
    people = [register(chain) for _ in range(25)]
    persons = [person for person, _ in people]
    chain.wait_for(lambda: statuses(persons) == {"requested"}, "25 code requests")

    for person, resident_code in people:
        assert_requested_exactly_once(person, resident_code)
    files = CodeAcquisitionFileRequest.objects.count()
    assert files < 25 / 2, f"{files} files for 25 persons: the file step is not batched"


def test_unknown_and_invalidated_numbers_end_in_the_error_list_then_recover(chain: Chain) -> None:
    unknown, _ = register(chain, enrol=False)
    someone = resident()
    enrolled(someone.individual_number)
    registry_invalidate(individual_number=someone.individual_number)
    invalidated = Person.objects.get(
        integrated_number=post_change(chain.jyuki, address_change_body(resident=someone)).json()[
            "integrated_number"
        ]
    )
    chain.wait_for(lambda: statuses([unknown, invalidated]) == {"error"}, "both requests to fail")

    failed = {request.person_id: request.last_error for request in code_requests_failed()}
    assert "not registered" in failed[unknown.pk]
    assert "invalidated" in failed[invalidated.pk]
    assert not CodeInformation.objects.exists()

    resident_codes = {
        unknown.pk: enrolled(unknown.individual_number),
        invalidated.pk: enrolled(invalidated.individual_number),  # re-enrolment validates again
    }
    for person in (unknown, invalidated):
        code_request_retry(
            code_request=CodeRequest.objects.get(person=person), cause="test: re-request"
        )
    chain.wait_for(lambda: statuses([unknown, invalidated]) == {"requested"}, "the re-requests")

    for person in (unknown, invalidated):
        request = CodeRequest.objects.get(person=person)
        assert request.generation == 2
        assert list(request.transitions.values_list("to_status", flat=True)) == [
            "requesting", "error", "requesting", "requested",
        ]  # fmt: skip
        assert (
            CodeInformation.objects.filter(integrated_number=person.integrated_number).count() == 1
        )
        code = CodeInformation.objects.get(integrated_number=person.integrated_number).code
        assert code == code_derive(
            lg_code=settings.LG_CODE, resident_code=resident_codes[person.pk]
        )
    assert not code_requests_failed().exists()


def test_an_intermediate_outage_delays_but_loses_nothing(chain: Chain) -> None:
    simulator_control_set("intermediate", unavailable=True)
    people = [register(chain) for _ in range(4)]
    persons = [person for person, _ in people]
    chain.wait_for(
        lambda: (
            CodeRequest.objects.filter(person__in=persons, attempts=0).count() == 4
            and "503" in chain.worker.log.read_text(errors="replace")
        ),
        "the worker to meet the outage",
    )
    assert statuses(persons) == {CodeRequestStatus.REQUESTING}
    assert not SerialNumberRequest.objects.exists()

    simulator_control_set("intermediate", unavailable=False, timeout_rate=0.3)
    chain.wait_for(lambda: statuses(persons) == {"requested"}, "recovery after the outage")
    for person, resident_code in people:
        assert_requested_exactly_once(person, resident_code)


def test_a_killed_worker_leaves_nothing_undone_or_done_twice(chain: Chain) -> None:
    simulator_control_set("network", latency_ms=400)
    people = [register(chain) for _ in range(8)]
    persons = [person for person, _ in people]
    chain.wait_for(
        lambda: SerialNumberRequest.objects.exists(), "the chain to be under way", seconds=30
    )
    chain.worker.kill()
    assert statuses(persons) == {CodeRequestStatus.REQUESTING}

    simulator_control_set("network", latency_ms=0)
    chain.worker.start()
    chain.wait_for(lambda: statuses(persons) == {"requested"}, "completion after the kill")
    for person, resident_code in people:
        assert_requested_exactly_once(person, resident_code)


def test_a_broker_restart_with_messages_in_flight_loses_nothing(chain: Chain, broker: Any) -> None:
    chain.worker.kill()
    people = [register(chain) for _ in range(6)]  # their tasks wait in the broker
    persons = [person for person, _ in people]
    broker.restart()
    chain.worker.start()
    chain.wait_for(
        lambda: statuses(persons) == {"requested"}, "completion after the broker restart"
    )
    for person, resident_code in people:
        assert_requested_exactly_once(person, resident_code)


pytestmark = pytest.mark.chain
