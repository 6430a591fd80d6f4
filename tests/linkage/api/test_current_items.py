"""SPEC 10.5: whose basic items are current. For a person linked to 住基 (the first system of
CURRENT_ITEMS_PRECEDENCE it is linked to), what 住基 sent last; another system's version is
history only and tells nobody. For other persons, the newest version."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from linkage.models import AddressVersion, Notice, NoticeEvent, Person
from tests.conftest import post_change
from tests.factories import KeyedClient, address_change_body, backbone_client, resident

from ..bulk.conftest import linkage_clear, linkage_snapshot, run_import

pytestmark = pytest.mark.django_db

CALLBACK = "http://192.0.2.1/linkage-notices"


def moved(body: dict[str, Any], event_id: str, address: str) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    changed["event_id"] = event_id
    changed["person"]["address"] = address
    return changed


def bodies() -> list[dict[str, Any]]:
    someone = resident()
    jyuki = address_change_body(number_system="01", resident=someone, address_number="101")
    tax = address_change_body(number_system="02", resident=someone, address_number="201")
    return [
        jyuki,
        tax,
        moved(tax, "tax-moved", "東京都千代田区丸の内1丁目1番1号"),  # 税 only: history
        moved(jyuki, "jyuki-moved", "横浜市西区みなとみらい2丁目2番2号"),  # 住基: current
    ]


def current() -> AddressVersion:
    return AddressVersion.objects.get(is_current=True)


def test_another_systems_change_is_history_and_tells_nobody() -> None:
    clients = {ns: backbone_client(number_system=ns, callback_url=CALLBACK) for ns in ("01", "02")}
    jyuki, tax, tax_moved, jyuki_moved = bodies()
    for body in (jyuki, tax):
        assert post_change(clients[body["number_system"]], body).status_code in (200, 201)
    updates = Notice.objects.filter(event=NoticeEvent.ADDRESS_UPDATED)

    answer = post_change(clients["02"], tax_moved).json()
    assert (answer["result"], answer["history_seq"]) == ("updated", 3)
    assert current().number_system == "01" and current().address == jyuki["person"]["address"]
    assert not updates.exists()  # 住基 is not told of 税's address

    answer = post_change(clients["01"], jyuki_moved).json()
    assert (answer["result"], answer["history_seq"]) == ("updated", 4)
    assert (current().history_seq, current().address) == (4, jyuki_moved["person"]["address"])
    assert [notice.client.number_system for notice in updates] == ["02"]


def test_a_person_not_linked_to_the_resident_register_has_its_newest_version(
    tax: KeyedClient,
) -> None:
    body = address_change_body(number_system="02")
    assert post_change(tax, body).status_code == 201
    assert post_change(tax, moved(body, "m", "横浜市中区本町9丁目9番9号")).status_code == 200
    assert (current().history_seq, current().address) == (2, "横浜市中区本町9丁目9番9号")


def test_the_precedence_is_configurable(
    settings: Any, jyuki: KeyedClient, tax: KeyedClient
) -> None:
    settings.CURRENT_ITEMS_PRECEDENCE = ["02", "01"]
    jyuki_body, tax_body, _, jyuki_moved = bodies()
    post_change(jyuki, jyuki_body)
    post_change(tax, tax_body)
    post_change(jyuki, jyuki_moved)
    assert current().number_system == "02"  # 税 first in the list: 住基's move is history


def test_the_bulk_import_decides_as_the_api_does(tmp_path: Path) -> None:
    for ns in ("01", "02"):
        backbone_client(number_system=ns, callback_url=CALLBACK)
    changes = bodies()
    for body in changes:
        keyed = backbone_client(number_system=body["number_system"], name="api")
        post_change(keyed, body)
    by_api = linkage_snapshot()
    linkage_clear()
    path = tmp_path / "changes.jsonl"
    path.write_text("".join(json.dumps(body) + "\n" for body in changes), encoding="utf-8")
    run_import(path)
    assert linkage_snapshot()["versions"] == by_api["versions"]
    assert Person.objects.get().versions.get(is_current=True).history_seq == 4


def test_what_the_api_and_the_person_page_show_is_the_current_version(tax: KeyedClient) -> None:
    from linkage.selectors import person_detail
    from tests.conftest import api_for

    jyuki = backbone_client(number_system="01", name="住基")
    jyuki_body, tax_body, tax_moved, _ = bodies()
    number = post_change(jyuki, jyuki_body).json()["integrated_number"]
    post_change(tax, tax_body)
    post_change(tax, tax_moved)  # the newest version, but 税's: history only

    read = api_for(tax).get(f"/api/v1/persons/{number}").json()
    assert (read["history_seq"], read["address"]) == (1, jyuki_body["person"]["address"])
    detail = person_detail(number)
    assert detail is not None
    assert detail.current.history_seq == 1
    assert [change.version.history_seq for change in detail.versions] == [3, 2, 1]
