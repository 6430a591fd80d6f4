"""The JP standard's flow in the simulated 税 system (SPEC 10.2): a resident whose individual
number 税 does not know is registered after a candidate search, linking to the person chosen
or numbering a new one; a merge in linkage reaches the system's records as a notice."""

from __future__ import annotations

from django.test import Client

from backbone.models import BusinessSystem, IncomeRecord
from linkage.models import CrossReference, Person, PersonMerge
from linkage.services.merges import person_merge
from tests.factories import resident

from .conftest import deliver_pending_notices, record_of, register


def test_tax_registers_a_known_person_without_a_number_by_choosing_the_candidate(
    systems: dict[str, BusinessSystem], clerk: Client
) -> None:
    someone = resident()
    register(clerk, "01", someone)
    known = record_of("01", someone).integrated_number
    # 税 does not know the number: the first step asks linkage for candidates.
    page = register(clerk, "02", someone, individual_number="")
    text = page.content.decode()
    assert "名寄せ候補" in text and known in text
    assert not IncomeRecord.objects.exists()  # nothing stored before the clerk chooses
    # The clerk chooses the candidate: the record is linked to that person.
    page = register(clerk, "02", someone, individual_number="", resolution=known)
    assert page.status_code == 200
    record = IncomeRecord.objects.get()
    assert not record.has_individual_number
    assert record.integrated_number == known
    assert CrossReference.objects.get(number_system="02").person.integrated_number == known
    assert Person.objects.count() == 1


def test_tax_numbers_a_new_person_when_nobody_matches(
    systems: dict[str, BusinessSystem], clerk: Client
) -> None:
    someone = resident()
    page = register(clerk, "02", someone, individual_number="")
    assert "同じ方と思われる宛名はありませんでした" in page.content.decode()
    register(clerk, "02", someone, individual_number="", resolution="new")
    record = IncomeRecord.objects.get()
    person = Person.objects.get(integrated_number=record.integrated_number)
    assert not person.has_individual_number


def test_jyuki_still_requires_the_number(systems: dict[str, BusinessSystem], clerk: Client) -> None:
    page = register(clerk, "01", resident(), individual_number="")
    assert page.status_code == 200
    assert "individual_number" in page.context["form"].errors


def test_a_merge_reaches_the_business_systems_records(
    systems: dict[str, BusinessSystem], clerk: Client
) -> None:
    someone, other = resident(), resident()
    register(clerk, "01", someone)
    register(clerk, "02", other, individual_number="", resolution="new")
    deliver_pending_notices()
    representative = Person.objects.get(
        integrated_number=record_of("01", someone).integrated_number
    )
    tax_record = IncomeRecord.objects.get()
    merged = Person.objects.get(integrated_number=tax_record.integrated_number)
    record = person_merge(
        representative=representative, merged=merged, cause=PersonMerge.Cause.MANUAL
    )
    assert deliver_pending_notices() == 2  # 住基 and 税 are told
    tax_record.refresh_from_db()
    assert tax_record.integrated_number == representative.integrated_number
    from linkage.services.merges import person_unmerge

    person_unmerge(representative=record.representative, merged=record.merged, by="test")
    deliver_pending_notices()
    tax_record.refresh_from_db()
    assert tax_record.integrated_number == merged.integrated_number
