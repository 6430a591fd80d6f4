"""The simulated intermediate server's 情報照会 (SKI) endpoint on its own: an inquiry being asked
by another request is refused `in_progress` (the asker tries again later) and asks nothing;
one about a person without a code here is refused `code_not_acquired`."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from config.sandbox import institution_key
from intermediate.models import CodeInformation, ExchangeRecord, InquiryRecord
from primitives.numbers import integrated_number_from_serial

pytestmark = pytest.mark.django_db

INQUIRIES = "/sim/intermediate/inquiries"
INQUIRY_ID = "7a1c0e5e-0000-4000-8000-000000000001"


def inquiry(integrated: str) -> dict[str, str]:
    return {
        "inquiry_id": INQUIRY_ID,
        "integrated_number": integrated,
        "procedure": "child_allowance_payment",
        "data_set": "local_tax_income",
        "provider": "131016",
    }


def post(settings: Any, body: dict[str, Any]) -> Any:
    client = Client(HTTP_AUTHORIZATION=f"Bearer {institution_key(settings.LG_CODE)}")
    return client.post(INQUIRIES, body, content_type="application/json")


def test_an_inquiry_being_asked_is_refused_in_progress_and_one_without_a_code_is_refused(
    settings: Any,
) -> None:
    coded, uncoded = integrated_number_from_serial(3), integrated_number_from_serial(4)
    CodeInformation.objects.create(lg_code=settings.LG_CODE, integrated_number=coded, code="c")
    InquiryRecord.objects.create(
        lg_code=settings.LG_CODE,
        outcome=InquiryRecord.Outcome.ASKING,
        **inquiry(coded),
    )
    batch = {
        "lg_code": settings.LG_CODE,
        "inquiries": [inquiry(coded), {**inquiry(uncoded), "inquiry_id": INQUIRY_ID[:-1] + "2"}],
    }
    results = post(settings, batch).json()["results"]
    assert [(r["status"], r["code"]) for r in results] == [
        ("refused", "in_progress"),
        ("refused", "code_not_acquired"),
    ]
    assert InquiryRecord.objects.count() == 1
    assert not ExchangeRecord.objects.exists()
