"""Residents registered through the API as a business system sends them, and signed-in
browser clients for the personas (tests/conftest.py)."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from django.test import Client

from linkage.models import Person
from tests.conftest import post_change
from tests.factories import KeyedClient, address_change_body, resident

PASSWORD = "correct horse battery staple"


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@dataclasses.dataclass
class Registered:
    integrated_number: str
    individual_number: str
    address_number: str
    person: Person


def register(keyed: KeyedClient, **person: Any) -> Registered:
    """A resident sent by `keyed`'s system; `person` overrides basic items."""
    someone = resident()
    overrides: dict[str, Any] = {
        key: datetime.date.fromisoformat(value) if key == "birth_date" else value
        for key, value in person.items()
    }
    someone = dataclasses.replace(someone, **overrides)
    body = address_change_body(number_system=keyed.number_system, resident=someone)
    response = post_change(keyed, body)
    assert response.status_code == 201, response.content
    number = response.json()["integrated_number"]
    return Registered(
        integrated_number=number,
        individual_number=someone.individual_number,
        address_number=body["address_number"],
        person=Person.objects.get(integrated_number=number),
    )


def change(
    keyed: KeyedClient,
    registered: Registered,
    *,
    address_number: str = "",
    business: dict[str, Any] | None = None,
    **person: Any,
) -> Any:
    """A later address change of the same resident, from `keyed`'s system under
    `address_number` (by default the one it was registered with), with `business` items if
    given; the API's answer."""
    current = registered.person.versions.order_by("-history_seq").first()
    assert current is not None
    items = {
        "name": current.name,
        "name_kana": current.name_kana,
        "birth_date": current.birth_date.isoformat(),
        "sex": current.sex,
        "address": current.address,
        **person,
    }
    body = address_change_body(
        number_system=keyed.number_system,
        address_number=address_number or registered.address_number,
        individual_number=registered.individual_number,
        person=items,
    )
    if business is not None:
        body["business"] = business
    response = post_change(keyed, body)
    assert response.status_code in (200, 201), response.content
    return response


def hanako_registered(jyuki: KeyedClient, tax: KeyedClient) -> Registered:
    """Persona resident 鈴木 花子: registered by 住基, then known to 税 too (two links, two
    versions)."""
    registered = register(
        jyuki,
        name="鈴木　花子",
        name_kana="スズキ　ハナコ",
        birth_date="1975-06-15",
        sex="2",
        address="横浜市港北区日吉1-1-1",
    )
    change(tax, registered, address_number="550001")
    return registered


def current_seq(integrated_number: str) -> int:
    """The history_seq of a person's current version: what a correction form is based on."""
    person = Person.objects.get(integrated_number=integrated_number)
    return int(person.versions.get(is_current=True).history_seq)
