"""The simulated business systems' part of the intermediate server's daily work (SPEC 11), by a
clerk's hand over real HTTP: 税 registers a resident's income as a copy (it waits for the code,
then goes out); 福祉 asks 千代田区 for a resident's income and sees the answer."""

from __future__ import annotations

import datetime
from typing import Any

from django.test import Client

from backbone.models import BusinessSystem
from intermediate.exchange import institution_person_add, permitted_exchanges_load
from intermediate.models import CodeInformation, CopyRecord, NetworkSerial
from intermediate.services import code_derive
from linkage.models import Copy, Inquiry
from linkage.services.copies import copies_deliver
from linkage.services.inquiries import inquiries_ask
from primitives.numbers import integrated_number_from_serial
from tests.factories import code_confirmed, resident

from .conftest import record_of, register

RESIDENT_CODE = "10000000001"


def code_acquired(integrated: str, settings: Any) -> None:
    """The code chain's end, as the confirmation unit records it (codes_acquired included)."""
    code = code_derive(lg_code=settings.LG_CODE, resident_code=RESIDENT_CODE)
    CodeInformation.objects.create(
        lg_code=settings.LG_CODE, integrated_number=integrated, code=code
    )
    NetworkSerial.objects.create(
        processing_serial_number="P1",
        request_key="k1",
        lg_code=settings.LG_CODE,
        integrated_number=integrated,
        code=code,
        resident_code=RESIDENT_CODE,
    )
    code_confirmed(integrated)


def test_tax_registers_a_copy_and_welfare_asks_another_institution(
    systems: dict[str, BusinessSystem], clerk: Client, settings: Any, live_server: Any
) -> None:
    settings.PEER_URLS = {
        **settings.PEER_URLS,
        "intermediate": f"{live_server.url}/sim/intermediate",
        "network": f"{live_server.url}/sim/network",
    }
    permitted_exchanges_load()
    someone = resident()
    for number_system in ("01", "02", "04"):
        register(clerk, number_system, someone)
    income = record_of("02", someone)

    page = clerk.post(f"/backbone/02/{income.address_number}/exchange", follow=True)
    assert "副本を登録しました(状態: waiting_for_code)" in page.content.decode()
    assert Copy.objects.get().status == "waiting_for_code"

    code_acquired(income.integrated_number, settings)
    assert copies_deliver(copy_ids=list(Copy.objects.values_list("pk", flat=True))) == 1
    (copy,) = CopyRecord.objects.filter(lg_code=settings.LG_CODE)
    assert copy.items == {"fiscal_year": 2026, "income_amount": 4200000, "tax_amount": 210000}
    shown = clerk.get(f"/backbone/02/{income.address_number}/").content.decode()
    assert 'badge registered">registered' in shown

    # 千代田区 knows the same resident and holds an income copy of its own.
    theirs = integrated_number_from_serial(50001)
    institution_person_add(lg_code="131016", integrated_number=theirs, resident_code=RESIDENT_CODE)
    CopyRecord.objects.create(
        lg_code="131016",
        copy_id="5d2c7a10-0000-4000-8000-000000000777",
        revision=1,
        integrated_number=theirs,
        data_set="local_tax_income",
        record_key="2025-1",
        items={"income_amount": 3900000},
        valid_from=datetime.date(2025, 6, 1),
    )
    welfare = record_of("04", someone)
    refused = clerk.post(f"/backbone/04/{welfare.address_number}/exchange", follow=True)
    assert "照会先を選んでください" in refused.content.decode()
    asked = clerk.post(
        f"/backbone/04/{welfare.address_number}/exchange", {"provider": "131016"}, follow=True
    )
    assert "情報照会を受け付けました(状態: sent)" in asked.content.decode()
    assert inquiries_ask(inquiry_ids=list(Inquiry.objects.values_list("pk", flat=True))) == 1
    answer = clerk.get(f"/backbone/04/{welfare.address_number}/").content.decode()
    assert 'badge answered">answered' in answer and "3900000" in answer
