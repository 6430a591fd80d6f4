"""The intermediate server's daily work (SPEC 11) end to end with a real worker process, a real
broker and real HTTP between linkage and every simulated peer: 税 registers a copy and 福祉
makes an inquiry before the person's code exists; both wait, then complete once the code chain
acquires it; another institution (千代田区, 131016) asks about the same resident and is answered
from 税's copy; both sides record each exchange. Then the faults: a worker killed and the broker
restarted while inquiries are being answered, and the intermediate server unavailable for a
while: nothing lost, nothing asked twice. No table or log of the simulators holds the number."""

from __future__ import annotations

import datetime
import os
import time
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from config.sandbox import institution_key
from intermediate.exchange import institution_person_add, permitted_exchanges_load
from intermediate.models import CopyRecord, ExchangeRecord, InquiryRecord
from intermediate.simulation import simulator_control_set
from linkage.models import CodeRequest, Copy, Inquiry, Person
from primitives.numbers import integrated_number_from_serial
from tests.chain.conftest import Chain, enrolled
from tests.conftest import api_for, post_change
from tests.factories import KeyedClient, address_change_body, backbone_client, resident

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]

CHIYODA = "131016"
OUTAGE_SECONDS = float(os.environ.get("CHAIN_OUTAGE_SECONDS", "5"))


@pytest.fixture
def institutions(chain: Chain, settings: Any) -> None:
    """This municipality and 千代田区 on the simulated national side, and the network's table of
    permitted exchanges."""
    settings.SIMULATOR_INSTITUTION_KEYS = {
        lg_code: institution_key(lg_code) for lg_code in (settings.LG_CODE, CHIYODA)
    }
    permitted_exchanges_load()


def resident_of_both(chain: Chain, tax: KeyedClient, welfare: KeyedClient, n: int) -> Person:
    """A resident registered by 住基 and known to 税 and 福祉 here, who is also a resident of
    千代田区 with an income copy there."""
    someone = resident()
    resident_code = enrolled(someone.individual_number)
    for keyed, address_number in (
        (chain.jyuki, None),
        (tax, f"55{n:04d}"),
        (welfare, f"77{n:04d}"),
    ):
        body = address_change_body(
            number_system=keyed.number_system, resident=someone, address_number=address_number
        )
        assert post_change(keyed, body).status_code in (200, 201)
    provider_number = integrated_number_from_serial(90000 + n)
    institution_person_add(
        lg_code=CHIYODA, integrated_number=provider_number, resident_code=resident_code
    )
    CopyRecord.objects.create(
        lg_code=CHIYODA,
        copy_id=f"5d2c7a10-0000-4000-8000-{n:012d}",
        revision=1,
        integrated_number=provider_number,
        data_set="local_tax_income",
        record_key=f"2025-{n}",
        items={"taxable_income": 2400000 + n},
        valid_from=datetime.date(2025, 6, 1),
    )
    return Person.objects.get(
        cross_references__number_system="04", cross_references__address_number=f"77{n:04d}"
    )


def inquire(welfare: KeyedClient, n: int, **overrides: str) -> str:
    answer = api_for(welfare).post(
        "/api/v1/inquiries",
        {
            "event_id": f"welfare-{n}",
            "number_system": "04",
            "address_number": f"77{n:04d}",
            "procedure": "child_allowance_payment",
            "data_set": "local_tax_income",
            "provider": CHIYODA,
            **overrides,
        },
        format="json",
    )
    assert answer.status_code == 202, answer.content
    return str(answer.json()["inquiry_id"])


def no_individual_number_in_the_simulators(chain: Chain, numbers: list[str]) -> None:
    tables = [
        str(list(model.objects.values())) for model in (CopyRecord, InquiryRecord, ExchangeRecord)
    ]
    log = chain.worker.log.read_text(errors="replace")
    for number in numbers:
        assert all(number not in table for table in tables)
        assert number not in log


def test_a_copy_and_an_inquiry_wait_for_the_code_then_both_institutions_are_answered(
    chain: Chain, institutions: None
) -> None:
    tax = backbone_client(number_system="02", name="税 (the tests' own client)")
    welfare = backbone_client(number_system="04", name="福祉 (the tests' own client)")
    person = resident_of_both(chain, tax, welfare, 1)
    copy = (
        api_for(tax)
        .post(
            "/api/v1/copies",
            {
                "event_id": "tax-copy-1",
                "number_system": "02",
                "address_number": "550001",
                "data_set": "local_tax_income",
                "record_key": "2026-1",
                "items": {"fiscal_year": 2026, "taxable_income": 3120000},
                "valid_from": "2026-01-01",
            },
            format="json",
        )
        .json()
    )
    inquiry_id = inquire(welfare, 1)
    # And one the table of permitted exchanges does not list: 生活保護 asking for 児童手当.
    outside = inquire(
        welfare, 1, event_id="welfare-outside", procedure="public_assistance",
        data_set="child_allowance",
    )  # fmt: skip
    assert copy["status"] == "waiting_for_code"
    assert set(Inquiry.objects.values_list("status", flat=True)) == {"waiting_for_code"}

    chain.wait_for(
        lambda: (
            Copy.objects.filter(status="registered").exists()
            and Inquiry.objects.filter(status="answered").exists()
            and Inquiry.objects.filter(status="refused").exists()
        ),
        "the copy to be registered and the inquiries answered once the code is acquired",
    )
    refused = api_for(welfare).get(f"/api/v1/inquiries/{outside}").json()
    assert refused["reason"].startswith("not_permitted") and refused["records"] == []
    assert CodeRequest.objects.get(person=person).status == "requested"
    answer = api_for(welfare).get(f"/api/v1/inquiries/{inquiry_id}").json()
    assert [record["items"] for record in answer["records"]] == [{"taxable_income": 2400001}]

    # 千代田区 asks about the same resident: answered from 税's copy here, by itself.
    asked = Client(HTTP_AUTHORIZATION=f"Bearer {institution_key(CHIYODA)}").post(
        "/sim/intermediate/inquiries",
        {
            "lg_code": CHIYODA,
            "inquiry_id": "9e0b6a52-0000-4000-8000-000000000001",
            "integrated_number": integrated_number_from_serial(90001),
            "procedure": "public_assistance",
            "data_set": "local_tax_income",
            "provider": settings.LG_CODE,
        },
        content_type="application/json",
    )
    assert asked.status_code == 200, asked.content
    assert asked.json()["records"][0]["items"] == {"fiscal_year": 2026, "taxable_income": 3120000}

    records = api_for(welfare).get(
        "/api/v1/exchange-records", {"number_system": "04", "address_number": "770001"}
    )
    assert sorted(
        (r["role"], r["counterpart"], r["outcome"]) for r in records.json()["records"]
    ) == [
        ("provider", CHIYODA, "answered"),
        ("requester", CHIYODA, "answered"),
        ("requester", CHIYODA, "refused"),
    ]
    assert sorted(
        ExchangeRecord.objects.filter(lg_code=CHIYODA).values_list("role", "counterpart")
    ) == [("provider", settings.LG_CODE), ("requester", settings.LG_CODE)]
    no_individual_number_in_the_simulators(chain, [person.individual_number])


def test_a_killed_worker_a_broker_restart_and_an_outage_lose_nothing_and_ask_nothing_twice(
    chain: Chain, institutions: None, broker: Any
) -> None:
    tax = backbone_client(number_system="02", name="税 (the tests' own client)")
    welfare = backbone_client(number_system="04", name="福祉 (the tests' own client)")
    persons = [resident_of_both(chain, tax, welfare, n) for n in range(1, 5)]
    chain.wait_for(
        lambda: (
            set(CodeRequest.objects.filter(person__in=persons).values_list("status", flat=True))
            == {"requested"}
        ),
        "the persons' codes",
    )
    simulator_control_set("network", latency_ms=600)
    ids = [inquire(welfare, n) for n in range(1, 5)]
    chain.wait_for(lambda: InquiryRecord.objects.exists(), "the inquiries to be under way", 30)
    chain.worker.kill()
    answered_before = Inquiry.objects.filter(status="answered").count()
    broker.restart()
    simulator_control_set("network", latency_ms=0)
    simulator_control_set("intermediate", unavailable=True)
    chain.worker.start()
    time.sleep(OUTAGE_SECONDS)
    # Nothing gets through while the intermediate server is down, and nothing is given up.
    assert Inquiry.objects.filter(status="answered").count() == answered_before
    assert not Inquiry.objects.exclude(status__in=["sent", "answered"]).exists()
    simulator_control_set("intermediate", unavailable=False)

    chain.wait_for(
        lambda: Inquiry.objects.filter(status="answered").count() == len(ids),
        "every inquiry answered after the faults",
    )
    assert InquiryRecord.objects.count() == len(ids)
    assert ExchangeRecord.objects.filter(lg_code=CHIYODA, role="provider").count() == len(ids)
    assert ExchangeRecord.objects.filter(lg_code=settings.LG_CODE, role="requester").count() == len(
        ids
    )
    for inquiry_id, n in zip(ids, range(1, 5), strict=True):
        records = api_for(welfare).get(f"/api/v1/inquiries/{inquiry_id}").json()["records"]
        assert [record["items"] for record in records] == [{"taxable_income": 2400000 + n}]
    no_individual_number_in_the_simulators(chain, [p.individual_number for p in persons])
