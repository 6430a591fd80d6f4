"""The clerk's screens of the intermediate server's daily work (SPEC 11): a person's copies
(current and withdrawn) and inquiries with their answers, the exchange records read from the
intermediate server, and the list of what waits for a code. Labels, not keys."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from intermediate.models import ExchangeRecord
from linkage.models import Copy, Inquiry
from tests.factories import KeyedClient, backbone_client
from tests.residents import Registered, hanako_registered, signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def hanako(jyuki: KeyedClient, tax: KeyedClient) -> Registered:
    return hanako_registered(jyuki, tax)


def copy_of(registered: Registered, tax: KeyedClient, **fields: Any) -> Copy:
    values = {
        "client": tax.client,
        "number_system": "02",
        "event_id": f"e-{Copy.objects.count()}",
        "body_digest": "x",
        "person": registered.person,
        "address_number": "550001",
        "data_set": "local_tax_income",
        "record_key": "2026-0001",
        "items": {"fiscal_year": 2026},
        "valid_from": datetime.date(2026, 6, 1),
        "status": Copy.Status.REGISTERED,
        **fields,
    }
    return Copy.objects.create(**values)


def inquiry_of(registered: Registered, welfare: KeyedClient, **fields: Any) -> Inquiry:
    values = {
        "client": welfare.client,
        "number_system": "04",
        "event_id": f"i-{Inquiry.objects.count()}",
        "body_digest": "x",
        "person": registered.person,
        "address_number": "770001",
        "procedure": "child_allowance_payment",
        "data_set": "local_tax_income",
        "provider": "131016",
        "status": Inquiry.Status.ANSWERED,
        **fields,
    }
    return Inquiry.objects.create(**values)


def test_the_person_page_shows_copies_and_inquiries_by_their_names(
    hanako: Registered, tax: KeyedClient, clerk: Any
) -> None:
    welfare = backbone_client(number_system="04", name="福祉")
    copy_of(hanako, tax)
    copy_of(
        hanako,
        tax,
        record_key="2025-0001",
        status=Copy.Status.WITHDRAWN,
        withdrawn_at=datetime.datetime(2026, 5, 1, tzinfo=datetime.UTC),
    )
    inquiry_of(
        hanako,
        welfare,
        records=[{"record_key": "r", "items": {"taxable_income": 2400000}}],
    )
    inquiry_of(
        hanako,
        welfare,
        procedure="public_assistance",
        data_set="child_allowance",
        status=Inquiry.Status.REFUSED,
        reason="not_permitted: outside the table",
    )
    page = signed_in(clerk).get(reverse("person", args=[hanako.integrated_number]))
    body = page.content.decode()
    assert body.count("地方税関係情報（所得・課税）") == 3  # two copies and one inquiry
    assert "登録済" in body and "削除済" in body
    assert "児童手当の支給に関する事務" in body and "照会不可" in body
    assert "2400000" in body and "not_permitted" in body
    assert "local_tax_income" not in body and "child_allowance_payment" not in body


def test_what_waits_for_a_code_is_listed(hanako: Registered, tax: KeyedClient, clerk: Any) -> None:
    welfare = backbone_client(number_system="04", name="福祉")
    copy_of(hanako, tax, status=Copy.Status.WAITING_FOR_CODE)
    inquiry_of(hanako, welfare, status=Inquiry.Status.WAITING_FOR_CODE)
    inquiry_of(hanako, welfare, status=Inquiry.Status.ANSWERED)  # done: not listed
    body = signed_in(clerk).get(reverse("exchange_waiting")).content.decode()
    assert body.count(f">{hanako.integrated_number}</a>") == 2
    assert "副本" in body and "児童手当の支給に関する事務" in body
    assert Client().get(reverse("exchange_waiting")).status_code == 302  # sign in first


def test_the_exchange_records_are_read_from_the_intermediate_server(
    hanako: Registered, clerk: Any, settings: Any, live_server: Any
) -> None:
    settings.PEER_URLS = {
        **settings.PEER_URLS,
        "intermediate": f"{live_server.url}/sim/intermediate",
    }
    url = reverse("person_exchange_records", args=[hanako.integrated_number])
    empty = signed_in(clerk).get(url)
    assert (empty.status_code, "情報提供等記録はありません" in empty.content.decode()) == (
        200,
        True,
    )
    ExchangeRecord.objects.create(
        lg_code=settings.LG_CODE,
        integrated_number=hanako.integrated_number,
        role=ExchangeRecord.Role.REQUESTER,
        counterpart="131016",
        procedure="child_allowance_payment",
        data_set="local_tax_income",
        outcome="answered",
        exchange_id="5d2c7a10-0000-4000-8000-000000000009",
    )
    body = signed_in(clerk).get(url).content.decode()
    assert "照会した" in body and "131016" in body and "児童手当の支給に関する事務" in body
    settings.PEER_URLS = {**settings.PEER_URLS, "intermediate": "http://127.0.0.1:9/sim/x"}
    down = signed_in(clerk).get(url)
    assert down.status_code == 503
    assert "中間サーバーに接続できない" in down.content.decode()
