"""The simulated business systems connected to linkage on the live server (real HTTP both
ways), and a logged-in clerk's browser session (Django's test client)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from backbone.models import RECORD_MODELS, ResidentRecord
from backbone.synthetic import Resident
from linkage.models import Notice
from linkage.services.notices import notice_deliver

BUSINESS_FORM_DATA: dict[str, dict[str, str]] = {
    "01": {
        "business-household_number": "700001",
        "business-relationship": "世帯主",
        "business-moved_in_on": "2020-04-01",
    },
    "02": {
        "business-fiscal_year": "2026",
        "business-income_amount": "4200000",
        "business-tax_amount": "210000",
    },
    "03": {"business-insured_number": "12345678", "business-acquired_on": "2021-05-01"},
    "04": {
        "business-benefit_type": "児童手当",
        "business-started_on": "2022-06-01",
        "business-amount": "15000",
    },
}


@pytest.fixture
def clerk(transactional_db: None) -> Client:
    """Persona: a business-system clerk signed in to the clerk screens."""
    from linkage.roles import CLERK, staff_user_ensure

    user = staff_user_ensure(username="backbone-clerk", password="clerk-pass-2026", role=CLERK)
    browser = Client()
    browser.force_login(user)
    return browser


def person_form_data(resident: Resident, **overrides: str) -> dict[str, str]:
    data = {
        "individual_number": resident.individual_number,
        "name": resident.name,
        "name_kana": resident.name_kana,
        "birth_date": resident.birth_date.isoformat(),
        "sex": resident.sex,
        "address": resident.address,
    }
    data.update(overrides)
    return data


def register(clerk: Client, number_system: str, resident: Resident, **overrides: str) -> Any:
    """The clerk fills in the registration form and submits it (S11)."""
    return clerk.post(
        f"/backbone/{number_system}/new",
        {**person_form_data(resident), **BUSINESS_FORM_DATA[number_system], **overrides},
        follow=True,
    )


def change(clerk: Client, record: ResidentRecord, **overrides: str) -> Any:
    """The clerk edits a resident's record and saves it."""
    data = {
        "name": record.name,
        "name_kana": record.name_kana,
        "birth_date": record.birth_date.isoformat(),
        "sex": record.sex,
        "address": record.address,
        **BUSINESS_FORM_DATA[record.NUMBER_SYSTEM],
        **overrides,
    }
    return clerk.post(
        f"/backbone/{record.NUMBER_SYSTEM}/{record.address_number}/", data, follow=True
    )


def record_of(number_system: str, resident: Resident) -> ResidentRecord:
    from config.sandbox import simulator_index_key
    from primitives.crypto import blind_index

    return RECORD_MODELS[number_system].objects.get(
        individual_number_index=blind_index(resident.individual_number, key=simulator_index_key())
    )


def deliver_pending_notices() -> int:
    """What the notice worker does, run here: one delivery attempt per pending notice."""
    return sum(
        notice_deliver(notice_id=pk).delivered
        for pk in Notice.objects.filter(status=Notice.Status.PENDING).values_list("pk", flat=True)
    )
