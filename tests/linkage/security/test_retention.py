"""purge_expired deletes individual numbers past the retention period and keeps the rest."""

from __future__ import annotations

import datetime
from io import StringIO
from typing import Any

from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from linkage.models import AccessRecord, AddressVersion, CodeRequest, CodeRequestStatus, Person
from linkage.selectors import person_by_individual_number
from tests.factories import KeyedClient
from tests.residents import Registered, register, signed_in


def aged(registered: Registered, days: int, status: str = CodeRequestStatus.REQUESTED) -> None:
    AddressVersion.objects.filter(person=registered.person).update(
        registered_at=timezone.now() - datetime.timedelta(days=days)
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
    aged(old, 400)
    aged(recent, 100)
    aged(in_progress, 400, CodeRequestStatus.REQUESTING)
    aged(failed, 400, CodeRequestStatus.ERROR)

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
    for kept in (recent, in_progress, failed):
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
