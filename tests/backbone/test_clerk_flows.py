"""The seed's flows by a clerk's hand: the clerk screens post forms, the business system
talks to linkage on the live server over real HTTP, and linkage's notices come back the
same way (S11-S16, S27, S120, and the online function's correction)."""

from __future__ import annotations

from typing import Any

from django.test import Client

from backbone.models import BusinessSystem, ReceivedNotice, Submission
from linkage.models import AddressChangeReceipt, AddressVersion, BusinessInformation, Notice, Person
from linkage.services.corrections import person_correct
from primitives.vocabulary import NoticeEvent
from tests.factories import resident
from tests.residents import current_seq

from .conftest import change, deliver_pending_notices, record_of, register


def test_one_person_in_two_systems_gets_one_integrated_number(
    systems: dict[str, BusinessSystem], clerk: Client
) -> None:
    someone = resident()
    page = register(clerk, "01", someone)
    assert page.status_code == 200
    jyuki_record = record_of("01", someone)
    assert len(jyuki_record.integrated_number) == 15
    assert "連携サーバーが受理しました" in page.content.decode()
    assert jyuki_record.integrated_number in page.content.decode()

    register(clerk, "02", someone)
    tax_record = record_of("02", someone)
    assert tax_record.integrated_number == jyuki_record.integrated_number
    assert tax_record.address_number != jyuki_record.address_number  # each system its own (S12)

    person = Person.objects.get()
    assert sorted(person.cross_references.values_list("number_system", flat=True)) == ["01", "02"]
    assert list(person.versions.values_list("history_seq", "number_system")) == [
        (1, "01"),
        (2, "02"),
    ]
    # The business items arrived as each system's data type.
    assert sorted(BusinessInformation.objects.values_list("data_type", flat=True)) == [
        "household",
        "income",
    ]
    assert BusinessInformation.objects.get(data_type="income").items == {
        "fiscal_year": 2026,
        "income_amount": 4200000,
        "tax_amount": 210000,
    }


def test_a_change_in_one_system_reaches_the_other_through_linkage(
    systems: dict[str, BusinessSystem], clerk: Client
) -> None:
    someone = resident()
    register(clerk, "01", someone)
    register(clerk, "02", someone)
    deliver_pending_notices()

    jyuki_record = record_of("01", someone)
    change(clerk, jyuki_record, address="神奈川県横浜市中区港町1丁目1番1号")

    updated = Notice.objects.get(event=NoticeEvent.ADDRESS_UPDATED)
    assert updated.client.number_system == "02"  # not back to the sender
    assert deliver_pending_notices() == 1
    tax_record = record_of("02", someone)
    assert tax_record.address == "神奈川県横浜市中区港町1丁目1番1号"
    assert tax_record.integrated_number == jyuki_record.integrated_number
    outcome = ReceivedNotice.objects.get(number_system="02", event=NoticeEvent.ADDRESS_UPDATED)
    assert outcome.outcome == "1 件の住民を履歴SEQ 3 の宛名情報に更新しました"
    page = clerk.get(f"/backbone/02/{tax_record.address_number}/").content.decode()
    assert "宛名情報の更新" in page and "address.updated" not in page
    assert "更新 · 履歴SEQ 2" in page and "updated ·" not in page
    # Applying a notice is not a clerk's change: nothing is sent back to linkage.
    assert Submission.objects.filter(number_system="02").count() == 1

    # The other way round, 住基's items stay current (SPEC 10.5): 税's kana is kept in the
    # history, 住基 is not told, and the person still shows what 住基 sent.
    jyuki_kana = record_of("01", someone).name_kana
    change(clerk, tax_record, name_kana="ｻﾄｳ ﾀﾛｳ")
    assert deliver_pending_notices() == 0
    assert record_of("01", someone).name_kana == jyuki_kana
    person = Person.objects.get()
    assert person.versions.count() == 4
    current = person.versions.get(is_current=True)
    assert (current.number_system, current.history_seq) == ("01", 3)
    assert person.versions.get(history_seq=4).name_kana == "サトウ\u3000タロウ"


def test_a_correction_in_linkage_reaches_every_linked_system(
    systems: dict[str, BusinessSystem], clerk: Client, django_user_model: Any
) -> None:
    someone = resident()
    for number_system in ("01", "02", "03"):
        register(clerk, number_system, someone)
    deliver_pending_notices()
    supervisor = django_user_model.objects.create_user("linkage-supervisor")

    person = Person.objects.get()
    version = person_correct(
        person=person,
        items={"name": "訂正　花子"},
        reason="戸籍照会による氏名訂正",
        corrected_by=supervisor,
        based_on=current_seq(person.integrated_number),
    )

    assert version.source == AddressVersion.Source.CORRECTION
    assert version.corrected_by == supervisor
    receivers = sorted(
        Notice.objects.filter(event=NoticeEvent.ADDRESS_UPDATED).values_list(
            "client__number_system", flat=True
        )
    )
    assert receivers == ["01", "02", "03"]
    assert deliver_pending_notices() == 3
    for number_system in ("01", "02", "03"):
        assert record_of(number_system, someone).name == "訂正　花子"
    notice = ReceivedNotice.objects.get(number_system="03", event=NoticeEvent.ADDRESS_UPDATED)
    assert notice.data["reason"] == "戸籍照会による氏名訂正"
    assert notice.data["source"] == "correction"


def test_linkage_down_keeps_what_the_clerk_typed_and_a_resend_delivers_it_once(
    systems: dict[str, BusinessSystem], clerk: Client, unused_port_url: str
) -> None:
    jyuki = systems["01"]
    live_url = jyuki.linkage_url
    BusinessSystem.objects.filter(pk=jyuki.pk).update(linkage_url=unused_port_url)
    someone = resident()

    page = register(clerk, "01", someone)

    text = page.content.decode()
    assert "連携サーバーに接続できませんでした" in text
    record = record_of("01", someone)
    assert record.name == someone.name and record.integrated_number == ""
    submission = Submission.objects.get()
    assert submission.status == Submission.Status.UNREACHABLE
    assert Person.objects.count() == 0

    BusinessSystem.objects.filter(pk=jyuki.pk).update(linkage_url=live_url)
    resent = clerk.post(f"/backbone/01/{record.address_number}/resend", follow=True)

    assert "連携サーバーが受理しました" in resent.content.decode()
    submission.refresh_from_db()
    assert (submission.status, submission.attempts) == (Submission.Status.ACCEPTED, 2)
    assert record_of("01", someone).integrated_number == Person.objects.get().integrated_number
    # A second resend has nothing to send; linkage holds the change once.
    again = clerk.post(f"/backbone/01/{record.address_number}/resend", follow=True)
    assert "送信が必要な異動はありません" in again.content.decode()
    assert AddressChangeReceipt.objects.filter(event_id=submission.event_id).count() == 1


def test_a_refusal_by_linkage_is_shown_with_its_reason(
    systems: dict[str, BusinessSystem], clerk: Client
) -> None:
    """Linkage already links 税's next address number to someone else (sent by an older
    system with the same number system): 409, shown to the clerk, the record kept."""
    from backbone.services import linkage_client_of
    from tests.factories import address_change_body

    tax = systems["02"]
    linkage_client_of(tax).address_change_send(
        address_change_body(number_system="02", address_number="2000000001")
    )
    someone = resident()

    page = register(clerk, "02", someone)

    text = page.content.decode()
    assert "連携サーバーがエラーを返しました" in text
    assert "address_number_taken" not in text  # the reason is in words, not codes
    assert "already belongs to another individual number" in text
    submission = Submission.objects.get(number_system="02")
    assert (submission.status, submission.http_status) == (Submission.Status.REFUSED, 409)
    assert record_of("02", someone).integrated_number == ""
    detail = clerk.get(f"/backbone/02/{submission.address_number}/").content.decode()
    assert "再送信" in detail and "409" in detail
