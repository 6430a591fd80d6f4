"""SPEC 7.1: a change that brings nothing new stores no version and sends no notice; names
and kana are stored with one full-width space per run of spaces."""

from __future__ import annotations

import copy
import dataclasses
import datetime
import unicodedata
from typing import Any

import pytest

from linkage.models import AddressChangeReceipt, AddressVersion, BusinessInformation, Notice
from linkage.services.address_changes import AddressChange, BasicItems, names_before
from primitives.crypto import keyed_digest
from tests.conftest import post_change
from tests.factories import KeyedClient, address_change_body, backbone_client, resident

pytestmark = pytest.mark.django_db

CALLBACK = "http://192.0.2.1/linkage-notices"


def again(body: dict[str, Any], event_id: str, **person: Any) -> dict[str, Any]:
    repeated = copy.deepcopy(body)
    repeated["event_id"] = event_id
    repeated["person"].update(person)
    return repeated


def sent_again(person: BasicItems, sent: dict[str, str]) -> AddressChange:
    """One change sent again after an upgrade: stored now as `person`, sent as `sent`."""
    return AddressChange(
        event_id="e-1",
        number_system="01",
        address_number="7",
        individual_number="983205673214",
        changed_at=datetime.datetime(2026, 4, 1, 9, tzinfo=datetime.UTC),
        person=person,
        names_before=names_before(sent),
    )


def test_the_same_items_again_are_unchanged_and_store_no_version(jyuki: KeyedClient) -> None:
    someone = resident()
    body = address_change_body(resident=someone, address_number="11")
    first = post_change(jyuki, body).json()
    # 税 knows the person too and takes notices: a change in 住基 would reach it.
    tax = backbone_client(number_system="02", name="税", callback_url=CALLBACK)
    linked = address_change_body(number_system="02", resident=someone, address_number="12")
    assert post_change(tax, linked).status_code == 200
    notices = Notice.objects.count()
    versions = AddressVersion.objects.count()

    answer = post_change(jyuki, again(body, "same-again"))

    assert answer.status_code == 200
    assert answer.json() == {**first, "result": "unchanged", "history_seq": 2}
    assert AddressVersion.objects.count() == versions
    assert Notice.objects.count() == notices
    moved = post_change(jyuki, again(body, "moved", address="横浜市中区本町9丁目9番9号"))
    assert moved.json()["result"] == "updated"
    assert Notice.objects.count() == notices + 1  # 税 is told of a real change
    # Its receipt is kept: the same event again is answered as it was.
    assert AddressChangeReceipt.objects.filter(event_id="same-again").exists()
    repeat = post_change(jyuki, again(body, "same-again"))
    assert (repeat.status_code, repeat.json()) == (200, answer.json())


def test_spaces_in_names_are_one_full_width_space_and_then_compare_equal(
    jyuki: KeyedClient,
) -> None:
    someone = resident()
    body = address_change_body(resident=someone)
    body["person"] |= {"name": " 山田  　太郎 ", "name_kana": "ﾔﾏﾀﾞ ﾀﾛｳ"}
    assert post_change(jyuki, body).status_code == 201
    version = AddressVersion.objects.get()
    assert (version.name, version.name_kana) == ("山田\u3000太郎", "ヤマダ\u3000タロウ")

    # Written the standard's way it is the same name: nothing new.
    answer = post_change(
        jyuki, again(body, "e-2", name="山田\u3000太郎", name_kana="ヤマダ　タロウ")
    )
    assert answer.json()["result"] == "unchanged"


def test_kana_written_with_combining_sound_marks_are_the_kana_and_then_compare_equal(
    jyuki: KeyedClient,
) -> None:
    """ガ sent as カ + U+3099 (NFD, as macOS and some libraries write it) is ガ: taken as
    katakana, stored composed, and the same name written composed is nothing new."""
    body = address_change_body(resident=resident())
    body["person"] |= {
        "name": unicodedata.normalize("NFD", "山田　ガク"),
        "name_kana": unicodedata.normalize("NFD", "ヤマダ　ガク パ"),
    }
    assert "\u3099" in body["person"]["name_kana"]
    assert post_change(jyuki, body).status_code == 201
    version = AddressVersion.objects.get()
    assert (version.name, version.name_kana) == ("山田\u3000ガク", "ヤマダ\u3000ガク\u3000パ")

    answer = post_change(jyuki, again(body, "e-2", name="山田　ガク", name_kana="ヤマダ　ガク　パ"))
    assert answer.json()["result"] == "unchanged"


def test_a_repeat_of_a_name_stored_with_combining_marks_before_they_were_composed() -> None:
    """A receipt's digest from before kana with combining sound marks were composed (the name
    stored with its spaces normalised and its marks apart) still matches the same body sent
    again: a replay across the upgrade is answered as before, not refused as another body."""
    decomposed = unicodedata.normalize("NFD", "ジョン　スミス")
    sent = {"name": decomposed, "name_kana": "ジョン スミス"}
    person = BasicItems(
        "ジョン\u3000スミス", datetime.date(1980, 5, 5), "1", "横浜市", "ジョン\u3000スミス"
    )
    change = sent_again(person, sent)
    stored_then = keyed_digest(
        AddressChange(
            **{
                **vars(change),
                "names_before": (),
                "person": dataclasses.replace(person, name=decomposed),
            }
        )._canonical()
    )
    assert stored_then != change.digest()
    assert change.same_body_as(stored_then, change.digest())


def test_a_changed_item_a_new_system_or_an_ended_link_is_stored(jyuki: KeyedClient) -> None:
    someone = resident()
    body = address_change_body(resident=someone, address_number="21")
    assert post_change(jyuki, body).status_code == 201

    moved = post_change(jyuki, again(body, "moved", address="横浜市中区本町9丁目9番9号"))
    assert (moved.json()["result"], moved.json()["history_seq"]) == ("updated", 2)
    ended = post_change(jyuki, {**again(body, "ended", address="横浜市中区本町9丁目9番9号"),
                                "record_status": "ended"})  # fmt: skip
    assert (ended.json()["result"], ended.json()["history_seq"]) == ("updated", 3)

    # A first arrival from another system always stores its version, items equal or not.
    tax = backbone_client(number_system="02", name="税")
    first_from_tax = address_change_body(
        number_system="02", resident=someone, address_number="31", person=moved_person(body)
    )
    answer = post_change(tax, first_from_tax)
    assert (answer.json()["result"], answer.json()["history_seq"]) == ("updated", 4)


def moved_person(body: dict[str, Any]) -> dict[str, Any]:
    return {**body["person"], "address": "横浜市中区本町9丁目9番9号"}


def test_business_items_must_also_be_equal(tax: KeyedClient) -> None:
    income = {"data_type": "income", "items": {"fiscal_year": 2026, "income_amount": 3_000_000}}
    body = address_change_body(number_system="02", business=income)
    assert post_change(tax, body).status_code == 201

    same = post_change(tax, {**again(body, "same"), "business": income})
    assert same.json()["result"] == "unchanged"
    raised = {**income, "items": {"fiscal_year": 2026, "income_amount": 3_100_000}}
    more = post_change(tax, {**again(body, "raised"), "business": raised})
    assert (more.json()["result"], more.json()["history_seq"]) == ("updated", 2)
    assert BusinessInformation.objects.count() == 2


def test_a_repeat_of_a_change_stored_before_the_spaces_rule_is_still_a_repeat() -> None:
    """A receipt's digest from before names' spaces were normalised (the name stored as sent,
    trimmed) still matches the same body sent again."""
    sent = {"name": "山田  太郎", "name_kana": "ﾔﾏﾀﾞ ﾀﾛｳ"}
    change = sent_again(
        BasicItems(
            "山田\u3000太郎", datetime.date(1980, 5, 5), "1", "横浜市", "ヤマダ\u3000タロウ"
        ),
        sent,
    )
    assert change.names_before == (("山田  太郎", "ヤマダ タロウ"),)
    old = AddressChange(**{**vars(change), "names_before": (), "person": BasicItems(
        "山田  太郎", datetime.date(1980, 5, 5), "1", "横浜市", "ヤマダ タロウ")})  # fmt: skip
    stored_then = keyed_digest(old._canonical())
    assert change.same_body_as(stored_then, change.digest())
    assert not change.same_body_as(keyed_digest(b"another body"), change.digest())
