"""The simulated intermediate server's 副本登録 (DBM): a batch of copies, each answered alone;
a revision is taken once, an older one changes nothing; a copy needs the person's code."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from config.sandbox import institution_key
from intermediate.models import CodeInformation, CopyRecord
from primitives.numbers import integrated_number_from_serial

pytestmark = pytest.mark.django_db

COPIES = "/sim/intermediate/copies"
COPY_ID = "0b9f8c1e-2a4d-4c55-9a77-1f2e3d4c5b6a"
INTEGRATED = integrated_number_from_serial(7)


def copy(revision: int = 1, **overrides: Any) -> dict[str, Any]:
    return {
        "copy_id": COPY_ID,
        "revision": revision,
        "operation": "register",
        "integrated_number": INTEGRATED,
        "data_set": "local_tax_income",
        "record_key": "2026-1",
        "items": {"taxable_income": revision},
        "valid_from": "2026-06-01",
        **overrides,
    }


def post(settings: Any, copies: list[dict[str, Any]], lg_code: str = "") -> Any:
    client = Client(HTTP_AUTHORIZATION=f"Bearer {institution_key(settings.LG_CODE)}")
    body = {"lg_code": lg_code or settings.LG_CODE, "copies": copies}
    return client.post(COPIES, body, content_type="application/json")


def test_each_copy_of_a_batch_is_answered_alone_and_each_revision_taken_once(
    settings: Any,
) -> None:
    CodeInformation.objects.create(lg_code=settings.LG_CODE, integrated_number=INTEGRATED, code="c")
    other = integrated_number_from_serial(8)  # no code here: 符号未取得
    answer = post(
        settings,
        [
            copy(2),
            copy(1),  # older than what the batch registered: nothing changes
            copy(copy_id="1b9f8c1e-2a4d-4c55-9a77-1f2e3d4c5b6a", integrated_number=other),
            copy(revision=0),  # malformed
        ],
    )
    assert answer.status_code == 200
    results = answer.json()["results"]
    assert [r["status"] for r in results] == ["registered", "registered", "refused", "refused"]
    assert results[1]["revision"] == 2
    assert (results[2]["code"], results[3]["code"]) == ("code_not_acquired", "invalid")
    record = CopyRecord.objects.get()
    assert (record.revision, record.items) == (2, {"taxable_income": 2})

    withdrawn = post(settings, [copy(3, operation="withdraw")]).json()["results"]
    assert withdrawn == [{"copy_id": COPY_ID, "revision": 3, "status": "withdrawn"}]
    assert post(settings, [copy(3, operation="withdraw")]).json()["results"] == withdrawn
    record.refresh_from_db()
    assert record.withdrawn_at is not None and record.items == {"taxable_income": 2}


def test_an_institution_registers_only_its_own_copies(settings: Any) -> None:
    answer = post(settings, [copy()], lg_code="131016")
    assert answer.status_code == 403
    assert Client().post(COPIES, {}, content_type="application/json").status_code == 401
    assert not CopyRecord.objects.exists()
