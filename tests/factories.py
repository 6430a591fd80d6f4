"""Test data: backbone clients through the real service, address changes as API bodies."""

from __future__ import annotations

import datetime
import itertools
from dataclasses import dataclass
from typing import Any

from backbone.synthetic import Resident, ResidentGenerator
from linkage.models import BackboneClient
from linkage.services.backbone_clients import backbone_client_create

_generator = ResidentGenerator(seed=20261126)
_event_ids = itertools.count(1)
_address_numbers = itertools.count(100001)


@dataclass
class KeyedClient:
    """A backbone client together with the key it was issued (shown once in real life)."""

    client: BackboneClient
    key: str
    notice_secret: str = ""

    @property
    def number_system(self) -> str:
        return self.client.number_system


def backbone_client(
    *, number_system: str = "01", name: str = "", callback_url: str = ""
) -> KeyedClient:
    """A client made the way administrators make them, with the key it was issued."""
    issued = backbone_client_create(
        number_system=number_system,
        name=name or f"test client {number_system}",
        callback_url=callback_url,
    )
    return KeyedClient(client=issued.client, key=issued.key, notice_secret=issued.notice_secret)


def resident() -> Resident:
    return _generator.resident()


# Every place of an address_change_body() with a business part: top-level, person and
# business fields, for tests that try a value in each.
ADDRESS_CHANGE_PATHS: list[tuple[str, ...]] = [
    ("event_id",),
    ("number_system",),
    ("address_number",),
    ("individual_number",),
    ("changed_at",),
    ("record_status",),
    ("person",),
    ("person", "name"),
    ("person", "name_kana"),
    ("person", "birth_date"),
    ("person", "sex"),
    ("person", "address"),
    ("business",),
    ("business", "data_type"),
    ("business", "confirmed_at"),
    ("business", "items"),
]


def address_change_body(
    *,
    number_system: str = "01",
    resident: Resident | None = None,
    address_number: str | None = None,
    event_id: str | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """A valid `POST /api/v1/address-changes` body; overrides replace top-level fields."""
    resident = resident or _generator.resident()
    body: dict[str, Any] = {
        "event_id": event_id or f"test-event-{next(_event_ids)}",
        "number_system": number_system,
        "address_number": address_number or str(next(_address_numbers)),
        "individual_number": resident.individual_number,
        "changed_at": datetime.datetime(2026, 4, 1, 9, 30, tzinfo=datetime.UTC).isoformat(),
        "person": resident.as_person(),
    }
    body.update(overrides)
    return body


def code_confirmed(integrated_number: str) -> None:
    """The confirmation unit finds the person's code acquired on the simulated intermediate
    server (its table 46 holds the code already): the person moves to `requested`, and what
    waited for the code is released (codes_acquired)."""
    from django.conf import settings

    from intermediate.models import SerialNumberRequest
    from intermediate.services import encrypted
    from linkage.models import CodeRequest, CodeRequestStage, CodeRequestStatus
    from linkage.services.code_requests import code_requests_confirm

    CodeRequest.objects.filter(person__integrated_number=integrated_number).update(
        status=CodeRequestStatus.REQUESTING, stage=CodeRequestStage.SENT
    )
    SerialNumberRequest.objects.create(
        lg_code=settings.LG_CODE,
        integrated_number=integrated_number,
        idempotency_key=f"confirmed-{integrated_number}",
        status=SerialNumberRequest.Status.ACQUIRED,
        **encrypted("983205673214"),
    )
    assert code_requests_confirm()["acquired"] == 1
