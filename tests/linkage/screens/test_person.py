"""The person page, the reveal of the individual number, and the correction."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from linkage.models import AddressVersion, BackboneClient, Notice
from linkage.services.corrections import CorrectionOutdated, person_correct
from primitives.vocabulary import NoticeEvent
from tests.factories import KeyedClient
from tests.residents import Registered, change, current_seq, hanako_registered, signed_in


@pytest.fixture
def hanako(jyuki: KeyedClient, tax: KeyedClient) -> Registered:
    """Registered by 住基, then known to 税 too, then moved house (three versions)."""
    registered = hanako_registered(jyuki, tax)
    change(jyuki, registered, address="横浜市港北区綱島西2-2-2")
    return registered


def page_of(client: Any, registered: Registered) -> str:
    response = client.get(reverse("person", args=[registered.integrated_number]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_page_shows_every_version_newest_first_with_the_changes_marked(
    hanako: Registered, clerk: Any
) -> None:
    response = signed_in(clerk).get(reverse("person", args=[hanako.integrated_number]))
    versions = response.context["detail"].versions
    assert [entry.version.history_seq for entry in versions] == [3, 2, 1]
    assert [entry.changed for entry in versions] == [{"address"}, set(), set()]
    body = response.content.decode()
    assert '<td class="changed">横浜市港北区綱島西2-2-2</td>' in body
    assert body.count('class="changed"') == 1


def test_the_page_lists_links_business_information_and_the_code_request_timeline(
    hanako: Registered, clerk: Any
) -> None:
    body = page_of(signed_in(clerk), hanako)
    assert hanako.address_number in body and "550001" in body
    assert "01 住基" in body and "02 税" in body
    detail_timeline = re.findall(
        r"<li><time[^>]*>[^<]*</time>\s*(\S+) → <strong>(\S+)</strong>", body
    )
    assert detail_timeline == [("未依頼", "依頼中")]
    assert "（新規登録（宛名異動の受信））" in body and "person_registered" not in body


def test_a_label_added_in_the_admin_names_an_unknown_item_and_the_key_stays_the_fallback(
    hanako: Registered, clerk: Any, tax: KeyedClient
) -> None:
    from linkage.models import BusinessLabel

    change(
        tax,
        hanako,
        address_number="550001",
        business={"data_type": "income", "items": {"fiscal_year": 2026, "special_deduction": 1}},
    )
    client = signed_in(clerk)
    body = page_of(client, hanako)
    # The data type and the shipped items by their Japanese names, never by their keys.
    for label in ("所得・課税", "年度"):
        assert f">{label}<" in body, label
    assert ">income<" not in body and "fiscal_year" not in body
    assert ">special_deduction<" in body  # unknown anywhere: the key as sent
    added = BusinessLabel.objects.create(
        kind=BusinessLabel.Kind.ITEM, key="special_deduction", label="特別控除額"
    )
    assert ">特別控除額<" in page_of(client, hanako)
    added.delete()
    assert ">special_deduction<" in page_of(client, hanako)


def test_the_individual_number_is_masked_for_a_clerk_who_cannot_reveal_it(
    hanako: Registered, clerk: Any
) -> None:
    client = signed_in(clerk)
    body = page_of(client, hanako)
    assert "********" + hanako.individual_number[-4:] in body
    assert hanako.individual_number not in body
    assert "表示する" not in body
    reveal = client.post(reverse("person_reveal", args=[hanako.integrated_number]))
    assert reveal.status_code == 403
    assert hanako.individual_number not in reveal.content.decode()


def test_a_supervisor_reveals_it_by_post_and_the_answer_is_not_cached(
    hanako: Registered, supervisor: Any
) -> None:
    client = signed_in(supervisor)
    body = page_of(client, hanako)
    assert hanako.individual_number not in body
    assert "表示する" in body
    url = reverse("person_reveal", args=[hanako.integrated_number])
    assert client.get(url).status_code == 405
    full = client.post(url, {"purpose": "counter_identity"})
    assert hanako.individual_number in full.content.decode()
    assert full["Cache-Control"] == "no-store"
    fragment = client.post(url, {"purpose": "audit"}, HTTP_HX_REQUEST="true")
    text = fragment.content.decode()
    assert text.strip().startswith('<span id="individual-number">')
    assert hanako.individual_number in text and "<html" not in text
    assert 'data-hide-after="30"' in text and "利用目的「監査・点検」で表示し" in text


@pytest.mark.parametrize(
    ("sent", "message"),
    [
        ({}, "表示する前に利用目的を選んでください。"),
        ({"purpose": "curiosity"}, "利用目的を一覧から選んでください。"),
    ],
)
def test_no_purpose_no_number_and_no_record_of_a_reveal(
    hanako: Registered, supervisor: Any, sent: dict[str, str], message: str
) -> None:
    from linkage.models import AccessAction, AccessRecord

    client = signed_in(supervisor)
    before = AccessRecord.objects.filter(action=AccessAction.REVEAL).count()
    answer = client.post(
        reverse("person_reveal", args=[hanako.integrated_number]), sent, HTTP_HX_REQUEST="true"
    )
    assert answer.status_code == 400
    text = answer.content.decode()
    assert message in text
    assert hanako.individual_number not in text and "curiosity" not in text
    assert AccessRecord.objects.filter(action=AccessAction.REVEAL).count() == before


def test_the_purpose_is_recorded_with_the_reveal(hanako: Registered, supervisor: Any) -> None:
    from linkage.models import AccessAction, AccessRecord

    signed_in(supervisor).post(
        reverse("person_reveal", args=[hanako.integrated_number]), {"purpose": "inquiry"}
    )
    record = AccessRecord.objects.filter(action=AccessAction.REVEAL).latest("pk")
    assert record.criteria == {"purpose": "inquiry"}
    assert record.integrated_numbers == [hanako.integrated_number]


def test_an_unknown_integrated_number_is_404(clerk: Any) -> None:
    response = signed_in(clerk).get(reverse("person", args=["000000000000000"]))
    assert response.status_code == 404


def test_the_person_page_takes_a_fixed_number_of_queries(
    hanako: Registered, jyuki: KeyedClient, clerk: Any
) -> None:
    client = signed_in(clerk)
    page_of(client, hanako)
    counts = []
    for _ in range(2):
        with CaptureQueriesContext(connection) as captured:
            page_of(client, hanako)
        counts.append(len(captured.captured_queries))
        for n in range(5):  # five more versions, and a business row with each
            change(jyuki, hanako, address=f"横浜市港北区{n}")
    # 4 (5 on PostgreSQL) write the access record; 2 read the copies and the inquiries
    assert counts[0] == counts[1] <= 17, counts


# Correction (online function 40)

CORRECTED = {
    "name": "鈴木 花子",
    "name_kana": "ｽｽﾞｷ ﾊﾅｺ",
    "birth_date": "1975-06-15",
    "sex": "2",
    "address": "横浜市港北区綱島西2-2-20",
    "reason": "住民からの申出により番地の誤記を訂正",
}


def callback_set(system: BackboneClient, url: str) -> None:
    """An administrator sets where a system takes its notices (saved as the admin saves)."""
    system.callback_url = url
    system.save(update_fields=["callback_url"])


def test_a_clerk_corrects_a_person_and_every_linked_system_is_told(
    hanako: Registered, clerk: Any
) -> None:
    # Both systems take notices.
    for system in BackboneClient.objects.all():
        callback_set(system, "http://192.0.2.1/linkage-notices")
    client = signed_in(clerk)
    form = client.get(reverse("person_correction", args=[hanako.integrated_number]))
    assert form.context["form"].initial["address"] == "横浜市港北区綱島西2-2-2"
    updates_before = Notice.objects.filter(event=NoticeEvent.ADDRESS_UPDATED).count()
    versions_before = AddressVersion.objects.count()
    url = reverse("person_correction", args=[hanako.integrated_number])
    corrected = {**CORRECTED, "based_on": form.context["form"].initial["based_on"]}
    assert corrected["based_on"] == current_seq(hanako.integrated_number)

    # First the confirmation: what changes, who is told; nothing is stored yet.
    confirmation = client.post(url, corrected)
    assert confirmation.status_code == 200
    text = confirmation.content.decode()
    assert "訂正内容の確認" in text
    assert [
        (str(label), before, after) for label, before, after in confirmation.context["changes"]
    ] == [
        ("住所", "横浜市港北区綱島西2-2-2", "横浜市港北区綱島西2-2-20"),
    ]  # the kana typed half-width is the same kana: not a change
    assert "01 住基" in text and "02 税" in text and "通知先が未設定" not in text
    assert AddressVersion.objects.count() == versions_before
    assert Notice.objects.filter(event=NoticeEvent.ADDRESS_UPDATED).count() == updates_before
    # Back to the form keeps what was typed.
    edit = client.post(url, {**corrected, "step": "edit"})
    assert edit.context["form"]["address"].value() == CORRECTED["address"]
    assert AddressVersion.objects.count() == versions_before

    response = client.post(url, {**corrected, "step": "confirm"})

    assert response.status_code == 302
    version = AddressVersion.objects.get(person=hanako.person, is_current=True)
    assert (version.history_seq, version.source) == (4, AddressVersion.Source.CORRECTION)
    assert version.address == CORRECTED["address"]
    assert version.name_kana == "スズキ\u3000ハナコ"  # full-width, its space as 氏名 (SPEC 7.1)
    assert (version.reason, version.corrected_by) == (CORRECTED["reason"], clerk)
    notified = Notice.objects.filter(event=NoticeEvent.ADDRESS_UPDATED).order_by("pk")[
        updates_before:
    ]
    assert sorted(n.client.number_system for n in notified) == ["01", "02"]
    body = client.get(response["Location"]).content.decode()
    assert "訂正を登録しました(履歴SEQ 4)" in body
    assert "住民からの申出により番地の誤記を訂正" in body


def test_the_confirmation_says_which_linked_system_takes_no_notices(
    hanako: Registered, clerk: Any
) -> None:
    callback_set(BackboneClient.objects.get(number_system="02"), "")
    callback_set(BackboneClient.objects.get(number_system="01"), "http://192.0.2.1/n")
    text = (
        signed_in(clerk)
        .post(
            reverse("person_correction", args=[hanako.integrated_number]),
            {**CORRECTED, "based_on": current_seq(hanako.integrated_number)},
        )
        .content.decode()
    )
    told = text[text.index("通知する業務システム") :]
    assert told.count("通知先が未設定のため通知されません") == 1
    assert told.index("02 税") < told.index("通知先が未設定")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name_kana", "すずき", "カタカナ"),
        ("birth_date", "2999-01-01", "未来の日付"),
        ("name", "鈴木\u200b花子", "制御文字"),
        ("reason", "", "この項目は必須です"),
        ("sex", "5", "正しく選択してください"),
    ],
)
def test_an_invalid_correction_says_why_and_changes_nothing(
    hanako: Registered, clerk: Any, field: str, value: str, message: str
) -> None:
    versions = AddressVersion.objects.count()
    notices = Notice.objects.count()
    response = signed_in(clerk).post(
        reverse("person_correction", args=[hanako.integrated_number]),
        {
            **CORRECTED,
            "based_on": current_seq(hanako.integrated_number),
            field: value,
            "step": "confirm",
        },
    )
    assert response.status_code == 400
    assert message in str(response.context["form"].errors[field])
    assert (AddressVersion.objects.count(), Notice.objects.count()) == (versions, notices)


def test_a_correction_that_changes_nothing_is_refused(hanako: Registered, clerk: Any) -> None:
    unchanged = {
        **CORRECTED,
        "based_on": current_seq(hanako.integrated_number),
        "address": "横浜市港北区綱島西2-2-2",
        "name_kana": "スズキ\u3000ハナコ",
    }
    for step in ("", "confirm"):
        response = signed_in(clerk).post(
            reverse("person_correction", args=[hanako.integrated_number]),
            {**unchanged, "step": step},
        )
        assert response.status_code == 400
        assert "どれも変わっていません" in response.content.decode()
    assert AddressVersion.objects.filter(person=hanako.person).count() == 3


@pytest.mark.parametrize("step", ["", "confirm"], ids=["to the confirmation", "confirmed"])
def test_a_version_stored_after_the_form_was_opened_is_not_overwritten(
    hanako: Registered, jyuki: KeyedClient, clerk: Any, step: str
) -> None:
    """The clerk corrects the name on a form opened before 住基 sent a move: the form's
    address is the old one. Stored as typed, the correction would move the person back.
    Refused instead (409, nothing stored), with the current items in the form again, the
    reason kept; the correction typed again on it is stored."""
    client = signed_in(clerk)
    url = reverse("person_correction", args=[hanako.integrated_number])
    opened = client.get(url).context["form"].initial
    assert opened["address"] == "横浜市港北区綱島西2-2-2"
    assert change(jyuki, hanako, address="横浜市中区山下町1-1").status_code == 200
    moved = current_seq(hanako.integrated_number)
    versions, notices = AddressVersion.objects.count(), Notice.objects.count()
    typed = {**opened, "name": "鈴木 華子", "reason": "戸籍照会により氏名を訂正"}

    refused = client.post(url, {**typed, "step": step})

    assert refused.status_code == 409
    text = refused.content.decode()
    assert f"訂正を始めた後に更新されました(現在は履歴SEQ {moved})" in text
    assert "訂正は登録していません" in text
    again = refused.context["form"]
    assert again["address"].value() == "横浜市中区山下町1-1"  # the move, not the old address
    assert again["name"].value() == "鈴木　花子"  # to be typed again on the current items
    assert again["reason"].value() == "戸籍照会により氏名を訂正"
    assert again["based_on"].value() == moved
    assert (AddressVersion.objects.count(), Notice.objects.count()) == (versions, notices)

    retyped = {name: again[name].value() for name in ("name_kana", "sex", "address", "reason")} | {
        "name": "鈴木 華子",
        "birth_date": "1975-06-15",
        "based_on": moved,
        "step": "confirm",
    }
    assert client.post(url, retyped).status_code == 302
    current = AddressVersion.objects.get(person=hanako.person, is_current=True)
    assert (current.name, current.address) == ("鈴木　華子", "横浜市中区山下町1-1")


def test_a_version_stored_while_the_correction_waits_for_the_lock_is_not_overwritten(
    hanako: Registered, jyuki: KeyedClient, clerk: Any
) -> None:
    """The same race one step later: the view read the current version, then a change was
    stored before the correction took the person's lock. The service checks under the lock."""
    based_on = current_seq(hanako.integrated_number)
    assert change(jyuki, hanako, address="横浜市中区山下町1-1").status_code == 200
    versions = AddressVersion.objects.count()
    with pytest.raises(CorrectionOutdated) as refused:
        person_correct(
            person=hanako.person,
            items={"name": "鈴木　華子"},
            reason="戸籍照会により氏名を訂正",
            corrected_by=clerk,
            based_on=based_on,
        )
    assert refused.value.current_seq == current_seq(hanako.integrated_number)
    assert AddressVersion.objects.count() == versions


@pytest.mark.parametrize("based_on", [None, "", "x", "0"])
def test_a_correction_without_its_starting_version_is_refused(
    hanako: Registered, clerk: Any, based_on: str | None
) -> None:
    """A form from before this check, or a hand-made request: reopen the form."""
    data = {**CORRECTED, "step": "confirm"}
    if based_on is not None:
        data["based_on"] = based_on
    versions = AddressVersion.objects.count()
    response = signed_in(clerk).post(
        reverse("person_correction", args=[hanako.integrated_number]), data
    )
    assert response.status_code == 400
    assert "この画面は古くなっています。宛名の画面から訂正を開き直してください。" in (
        response.content.decode()
    )
    assert AddressVersion.objects.count() == versions


def test_an_administrator_neither_sees_nor_corrects_nor_reveals_persons(
    hanako: Registered, administrator: Any
) -> None:
    client = signed_in(administrator)
    assert client.get(reverse("person", args=[hanako.integrated_number])).status_code == 403
    assert (
        client.post(
            reverse("person_correction", args=[hanako.integrated_number]), CORRECTED
        ).status_code
        == 403
    )
    assert client.post(reverse("person_reveal", args=[hanako.integrated_number])).status_code == 403


def test_business_information_is_shown_per_data_type_newest_first(
    hanako: Registered, tax: KeyedClient, clerk: Any
) -> None:
    for year, amount in ((2025, 3800000), (2026, 4200000)):
        answer = change(
            tax,
            hanako,
            address_number="550001",
            business={"data_type": "income", "items": {"fiscal_year": year, "income": amount}},
        )
        assert answer.status_code == 200
    response = signed_in(clerk).get(reverse("person", args=[hanako.integrated_number]))
    rows = response.context["detail"].business["income"]
    assert [row.items["fiscal_year"] for row in rows] == [2026, 2025]
    text = response.content.decode()
    assert "<h3>所得・課税</h3>" in text
    assert text.index("4200000") < text.index("3800000")
