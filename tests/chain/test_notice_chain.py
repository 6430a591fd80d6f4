"""Notices to business systems with a real worker: a clerk's change in one system reaches
every other system linked to the person, and survives that system being down."""

from __future__ import annotations

from backbone.models import BusinessSystem, IncomeRecord, ReceivedNotice
from backbone.services import receiver_control_set, resident_change, resident_register
from linkage.models import Notice
from primitives.vocabulary import NoticeEvent
from tests.chain.conftest import Chain
from tests.factories import resident

NEW_ADDRESS = "神奈川県横浜市港北区新横浜3丁目4番5号"


def linked_in_jyuki_and_tax() -> tuple[BusinessSystem, IncomeRecord]:
    someone = resident()
    items = {
        "name": someone.name,
        "name_kana": someone.name_kana,
        "birth_date": someone.birth_date,
        "sex": someone.sex,
        "address": someone.address,
    }
    jyuki = BusinessSystem.objects.get(number_system="01")
    registered = resident_register(
        system=jyuki,
        individual_number=someone.individual_number,
        items={
            **items,
            "household_number": "1",
            "relationship": "世帯主",
            "moved_in_on": someone.birth_date,
        },
    )
    tax_record = resident_register(
        system=BusinessSystem.objects.get(number_system="02"),
        individual_number=someone.individual_number,
        items={**items, "fiscal_year": 2026, "income_amount": 1, "tax_amount": 0},
    ).record
    assert isinstance(tax_record, IncomeRecord)
    resident_change(system=jyuki, record=registered.record, items={"address": NEW_ADDRESS})
    return jyuki, tax_record


def test_a_change_in_jyuki_reaches_tax_through_the_worker(chain: Chain) -> None:
    _, tax_record = linked_in_jyuki_and_tax()

    chain.wait_for(
        lambda: IncomeRecord.objects.get(pk=tax_record.pk).address == NEW_ADDRESS,
        "税 to receive address.updated",
    )
    chain.wait_for(
        lambda: not Notice.objects.filter(status=Notice.Status.PENDING).exists(),
        "every notice to be delivered",
    )
    assert (
        ReceivedNotice.objects.filter(number_system="02", event=NoticeEvent.ADDRESS_UPDATED).count()
        == 1
    )


def test_a_receiver_that_is_down_gets_the_notice_once_it_is_back(chain: Chain) -> None:
    receiver_control_set("tax", unavailable=True)
    _, tax_record = linked_in_jyuki_and_tax()
    chain.wait_for(
        lambda: Notice.objects.filter(
            event=NoticeEvent.ADDRESS_UPDATED, attempts__gte=2, status=Notice.Status.PENDING
        ).exists(),
        "two failed attempts at the notice",
    )
    assert IncomeRecord.objects.get(pk=tax_record.pk).address != NEW_ADDRESS

    receiver_control_set("tax", unavailable=False)
    chain.wait_for(
        lambda: IncomeRecord.objects.get(pk=tax_record.pk).address == NEW_ADDRESS,
        "税 to receive address.updated after coming back",
    )
    chain.wait_for(
        lambda: (
            Notice.objects.get(event=NoticeEvent.ADDRESS_UPDATED).status == Notice.Status.DELIVERED
        ),
        "the notice to be marked delivered",
    )
    assert (
        ReceivedNotice.objects.filter(number_system="02", event=NoticeEvent.ADDRESS_UPDATED).count()
        == 1
    )


def test_without_a_jyuki_callback_the_code_request_errs_with_the_reason(chain: Chain) -> None:
    from linkage.models import BackboneClient, CodeRequest, CodeRequestStatus
    from tests.chain.test_code_chain import register

    BackboneClient.objects.filter(number_system="01").update(callback_url="")
    person, _ = register(chain)

    chain.wait_for(
        lambda: CodeRequest.objects.get(person=person).status == CodeRequestStatus.ERROR,
        "the code request to fail",
    )
    code_request = CodeRequest.objects.get(person=person)
    assert "no 住基 business system has a callback URL" in code_request.last_error
    assert code_request.stage == "in_file"  # not marked sent: nothing went out
    assert not Notice.objects.filter(event=NoticeEvent.SERIAL_ISSUED).exists()
