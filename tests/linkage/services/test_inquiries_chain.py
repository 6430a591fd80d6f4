"""情報照会 through the simulated national side over real HTTP (SPEC 11): 福祉 asks another
institution (千代田区, 131016) for a resident's income; the network checks the table of permitted
exchanges and turns this municipality's code of the person into the provider's, whose
intermediate server answers from its copies by itself; both sides record the exchange. An
inquiry outside the table is refused and recorded; one for a person without a code waits and
then completes; a repeat after a lost answer asks nothing again; an unavailable intermediate
server loses nothing. No message carries the individual number."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from intermediate.exchange import institution_person_add, permitted_exchanges_load
from intermediate.models import (
    CodeInformation,
    CopyRecord,
    ExchangeRecord,
    InquiryRecord,
    NetworkSerial,
)
from intermediate.services import code_derive
from linkage.models import CodeRequest, CodeRequestStatus, Inquiry, Notice
from linkage.services.inquiries import inquiries_ask, inquiries_sweep
from primitives.http import PeerUnavailable
from primitives.numbers import integrated_number_from_serial
from primitives.vocabulary import NoticeEvent
from tests.conftest import api_for, post_change
from tests.factories import KeyedClient, address_change_body, backbone_client, code_confirmed

pytestmark = pytest.mark.django_db(transaction=True)

CHIYODA = "131016"
RESIDENT_CODE = "12345678901"
INQUIRIES = "/api/v1/inquiries"


@pytest.fixture
def peers(live_server: Any, settings: Any) -> None:
    settings.PEER_URLS = {
        **settings.PEER_URLS,
        "intermediate": f"{live_server.url}/sim/intermediate",
        "network": f"{live_server.url}/sim/network",
    }
    permitted_exchanges_load()


@pytest.fixture
def welfare() -> KeyedClient:
    return backbone_client(
        number_system="04", name="福祉", callback_url="http://192.0.2.1/welfare-notices"
    )


def resident(welfare: KeyedClient, settings: Any, *, coded: bool = True) -> tuple[str, str]:
    """A resident linked to 福祉 here, also a resident of 千代田区 with an income copy there;
    (integrated number here, the individual number)."""
    body = address_change_body(number_system="04", address_number="770001")
    integrated = post_change(welfare, body).json()["integrated_number"]
    if coded:
        code_acquired_here(integrated, settings)
    provider_number = integrated_number_from_serial(90001)
    institution_person_add(
        lg_code=CHIYODA, integrated_number=provider_number, resident_code=RESIDENT_CODE
    )
    CopyRecord.objects.create(
        lg_code=CHIYODA,
        copy_id="5d2c7a10-0000-4000-8000-000000000001",
        revision=1,
        integrated_number=provider_number,
        data_set="local_tax_income",
        record_key="2025-0001",
        items={"fiscal_year": 2025, "taxable_income": 2400000},
        valid_from=datetime.date(2025, 6, 1),
    )
    return integrated, body["individual_number"]


def code_acquired_here(integrated: str, settings: Any) -> None:
    """The code chain ran for the person: the network knows its resident code and this
    municipality's code, the intermediate server holds the code, linkage knows it is there."""
    code = code_derive(lg_code=settings.LG_CODE, resident_code=RESIDENT_CODE)
    NetworkSerial.objects.create(
        processing_serial_number=f"P{integrated}",
        request_key=f"k-{integrated}",
        lg_code=settings.LG_CODE,
        integrated_number=integrated,
        code=code,
        resident_code=RESIDENT_CODE,
    )
    CodeInformation.objects.create(
        lg_code=settings.LG_CODE, integrated_number=integrated, code=code
    )
    CodeRequest.objects.filter(person__integrated_number=integrated).update(
        status=CodeRequestStatus.REQUESTED
    )


def ask(welfare: KeyedClient, **overrides: Any) -> Inquiry:
    body = {
        "event_id": "welfare-inq-1",
        "number_system": "04",
        "address_number": "770001",
        "procedure": "child_allowance_payment",
        "data_set": "local_tax_income",
        "provider": CHIYODA,
        **overrides,
    }
    answer = api_for(welfare).post(INQUIRIES, body, format="json")
    assert answer.status_code == 202, answer.content
    return Inquiry.objects.get(inquiry_id=answer.json()["inquiry_id"])


def asked() -> int:
    return inquiries_ask(inquiry_ids=list(Inquiry.objects.values_list("pk", flat=True)))


def test_an_inquiry_is_answered_from_the_other_institutions_copies_and_recorded_on_both_sides(
    peers: None, welfare: KeyedClient, settings: Any
) -> None:
    _, individual_number = resident(welfare, settings)
    inquiry = ask(welfare)
    assert inquiry.status == "sent"
    assert asked() == 1

    read = api_for(welfare).get(f"{INQUIRIES}/{inquiry.inquiry_id}").json()
    assert read["status"] == "answered"
    assert read["records"] == [
        {
            "record_key": "2025-0001",
            "items": {"fiscal_year": 2025, "taxable_income": 2400000},
            "valid_from": "2025-06-01",
            "valid_to": None,
        }
    ]
    notice = Notice.objects.get(event=NoticeEvent.INQUIRY_ANSWERED)
    assert notice.client == welfare.client
    assert notice.payload["inquiry_id"] == str(inquiry.inquiry_id)
    assert notice.payload["status"] == "answered"

    records = api_for(welfare).get(
        "/api/v1/exchange-records", {"number_system": "04", "address_number": "770001"}
    )
    assert records.status_code == 200
    (record,) = records.json()["records"]
    assert (record["role"], record["counterpart"], record["outcome"]) == (
        "requester",
        CHIYODA,
        "answered",
    )
    assert (record["procedure"], record["data_set"]) == (
        "child_allowance_payment",
        "local_tax_income",
    )
    provider_side = ExchangeRecord.objects.get(lg_code=CHIYODA)
    assert (provider_side.role, provider_side.counterpart) == ("provider", settings.LG_CODE)
    # The national side's tables hold codes and integrated numbers, never the number.
    for model in (InquiryRecord, ExchangeRecord, CopyRecord, NetworkSerial, CodeInformation):
        assert individual_number not in str(list(model.objects.values())), model.__name__

    # Asked again after a lost answer (a redelivered message): answered from what the
    # intermediate server kept; the network and the provider are not asked twice.
    Inquiry.objects.update(status="sent")
    assert asked() == 1
    assert ExchangeRecord.objects.filter(lg_code=CHIYODA).count() == 1
    assert InquiryRecord.objects.count() == 1


def test_an_inquiry_outside_the_permitted_table_is_refused_and_recorded(
    peers: None, welfare: KeyedClient, settings: Any
) -> None:
    resident(welfare, settings)
    inquiry = ask(welfare, procedure="public_assistance", data_set="child_allowance")
    assert asked() == 1
    inquiry.refresh_from_db()
    assert inquiry.status == "refused"
    assert inquiry.reason.startswith("not_permitted")
    assert inquiry.records == []
    record = ExchangeRecord.objects.get()
    assert (record.lg_code, record.role, record.outcome) == (
        settings.LG_CODE,
        "requester",
        "refused",
    )
    assert not ExchangeRecord.objects.filter(lg_code=CHIYODA).exists()  # the provider never saw it


def test_an_inquiry_for_a_person_without_a_code_waits_and_then_completes(
    peers: None, welfare: KeyedClient, settings: Any
) -> None:
    integrated, _ = resident(welfare, settings, coded=False)
    inquiry = ask(welfare)
    assert inquiry.status == "waiting_for_code"
    assert asked() == 0
    assert not InquiryRecord.objects.exists()

    code_acquired_here(integrated, settings)
    code_confirmed(integrated)
    inquiry.refresh_from_db()
    assert inquiry.status == "sent"
    assert asked() == 1
    inquiry.refresh_from_db()
    assert inquiry.status == "answered"


def test_an_unavailable_intermediate_server_loses_nothing_and_sends_nothing_twice(
    peers: None, welfare: KeyedClient, settings: Any
) -> None:
    resident(welfare, settings)
    inquiry = ask(welfare)
    up = settings.PEER_URLS["intermediate"]
    settings.PEER_URLS = {**settings.PEER_URLS, "intermediate": "http://127.0.0.1:9/sim/x"}
    with pytest.raises(PeerUnavailable):
        asked()
    inquiry.refresh_from_db()
    assert (inquiry.status, inquiry.attempts) == ("sent", 1)
    settings.COPY_STALLED_AFTER = 0
    assert inquiries_sweep() == 1  # its message was lost too: the sweep sends it again
    settings.PEER_URLS = {**settings.PEER_URLS, "intermediate": up}
    assert asked() == 1
    assert asked() == 0
    assert InquiryRecord.objects.count() == 1
    assert Notice.objects.filter(event=NoticeEvent.INQUIRY_ANSWERED).count() == 1
