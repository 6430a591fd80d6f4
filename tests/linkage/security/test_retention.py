"""purge_expired deletes individual numbers past the retention period and keeps the rest."""

from __future__ import annotations

import datetime
from io import StringIO
from typing import Any

from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from linkage.models import (
    AccessRecord,
    AddressVersion,
    CodeRequest,
    CodeRequestStatus,
    CrossReference,
    Person,
)
from linkage.selectors import person_by_individual_number
from primitives.vocabulary import RecordStatus
from tests.conftest import api_for, post_change
from tests.factories import KeyedClient, address_change_body
from tests.residents import Registered, change, register, signed_in


def aged(
    registered: Registered,
    days: int,
    status: str = CodeRequestStatus.REQUESTED,
    *,
    ended: bool = True,
) -> None:
    """The person's versions (and, if `ended`, the end of every link) `days` ago."""
    then = timezone.now() - datetime.timedelta(days=days)
    AddressVersion.objects.filter(person=registered.person).update(registered_at=then)
    if ended:
        CrossReference.objects.filter(person=registered.person).update(
            record_status=RecordStatus.ENDED, ended_at=then
        )
    CodeRequest.objects.filter(person=registered.person).update(status=status)


def test_numbers_past_retention_are_deleted_and_the_rest_kept(
    jyuki: KeyedClient, supervisor: Any, settings: Any
) -> None:
    settings.INDIVIDUAL_NUMBER_RETENTION_DAYS = 365
    old = register(jyuki)
    recent = register(jyuki)
    in_progress = register(jyuki)
    failed = register(jyuki)
    # A resident who simply did not move for years: still handled by 住基, never purged.
    settled = register(jyuki)
    aged(old, 400)
    aged(recent, 100)
    aged(in_progress, 400, CodeRequestStatus.REQUESTING)
    aged(failed, 400, CodeRequestStatus.ERROR)
    aged(settled, 4000, ended=False)

    dry = StringIO()
    call_command("purge_expired", "--dry-run", stdout=dry)
    assert "1 persons have had no change for 365 days" in dry.getvalue()
    assert Person.objects.filter(purged_at__isnull=False).count() == 0

    out = StringIO()
    call_command("purge_expired", stdout=out)
    assert "Deleted the individual numbers of 1 persons" in out.getvalue()

    purged = Person.objects.get(pk=old.person.pk)
    assert purged.purged_at is not None
    assert purged.individual_number_encrypted == ""
    assert old.individual_number[-4:] == purged.individual_number_last4
    assert purged.individual_number_masked == "********" + old.individual_number[-4:]
    assert person_by_individual_number(old.individual_number) is None
    assert purged.versions.count() == 1  # the record stays
    # A business system reading the person is told the number is no longer held (SPEC 7.1).
    read = api_for(jyuki).get(f"/api/v1/persons/{old.integrated_number}").json()
    assert read["has_individual_number"] is False
    kept_read = api_for(jyuki).get(f"/api/v1/persons/{recent.integrated_number}").json()
    assert kept_read["has_individual_number"] is True
    for kept in (recent, in_progress, failed, settled):
        assert Person.objects.get(pk=kept.person.pk).individual_number == kept.individual_number

    record = AccessRecord.objects.get(action="purge")
    assert record.integrated_numbers == [old.integrated_number]
    assert old.individual_number not in str(AccessRecord.objects.values().get(pk=record.pk))

    page = signed_in(supervisor).get(reverse("person", args=[old.integrated_number]))
    text = page.content.decode()
    assert "保存期間を過ぎたため" in text and "表示する" not in text
    reveal = signed_in(supervisor).post(reverse("person_reveal", args=[old.integrated_number]))
    assert reveal.status_code == 200 and old.individual_number not in reveal.content.decode()

    again = StringIO()
    call_command("purge_expired", stdout=again)
    assert "of 0 persons" in again.getvalue()


def test_the_whole_life_register_end_purge_return(
    jyuki: KeyedClient, tax: KeyedClient, settings: Any
) -> None:
    """Registered by two systems; one ends its link: nothing is purged while the other
    still handles the person; both ended past retention: purged; the person returns on one
    of its links with its number: the number is attached again, with no new code request."""
    settings.INDIVIDUAL_NUMBER_RETENTION_DAYS = 30
    someone = register(jyuki)
    change(tax, someone, address_number="770001")

    ending = address_change_body(
        number_system="02",
        address_number="770001",
        individual_number=someone.individual_number,
        record_status="ended",
    )
    assert post_change(tax, ending).status_code == 200
    link = CrossReference.objects.get(number_system="02", address_number="770001")
    assert link.record_status == RecordStatus.ENDED and link.ended_at is not None
    AddressVersion.objects.filter(person=someone.person).update(
        registered_at=timezone.now() - datetime.timedelta(days=400)
    )
    CrossReference.objects.filter(person=someone.person, number_system="02").update(
        ended_at=timezone.now() - datetime.timedelta(days=400)
    )
    CodeRequest.objects.filter(person=someone.person).update(status=CodeRequestStatus.REQUESTED)
    call_command("purge_expired", stdout=StringIO())
    assert Person.objects.get(pk=someone.person.pk).purged_at is None, "住基 still handles it"

    aged(someone, 400)
    call_command("purge_expired", stdout=StringIO())
    assert Person.objects.get(pk=someone.person.pk).purged_at is not None
    assert person_by_individual_number(someone.individual_number) is None

    returning = address_change_body(
        number_system="01",
        address_number=someone.address_number,
        individual_number=someone.individual_number,
    )
    answer = post_change(jyuki, returning)
    assert answer.status_code == 200, answer.content
    assert answer.json()["integrated_number"] == someone.integrated_number
    returned = Person.objects.get(pk=someone.person.pk)
    assert returned.purged_at is None
    assert returned.individual_number == someone.individual_number
    assert person_by_individual_number(someone.individual_number) == returned
    assert CrossReference.objects.get(number_system="01").record_status == RecordStatus.ACTIVE
    assert CodeRequest.objects.filter(person=returned).count() == 1
    assert Person.objects.count() == 1


def test_a_different_number_on_a_purged_persons_link_is_still_a_conflict(
    jyuki: KeyedClient, settings: Any
) -> None:
    settings.INDIVIDUAL_NUMBER_RETENTION_DAYS = 30
    someone = register(jyuki)
    aged(someone, 400)
    call_command("purge_expired", stdout=StringIO())
    other = register(jyuki)  # holds another number
    body = address_change_body(
        number_system="01",
        address_number=someone.address_number,
        individual_number=other.individual_number,
    )
    answer = post_change(jyuki, body)
    assert answer.status_code == 409
    assert answer.json()["errors"][0]["code"] == "address_number_taken"
