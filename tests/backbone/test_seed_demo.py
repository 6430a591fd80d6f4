"""`seed_demo`: synthetic residents through the business systems and the real API."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from backbone.models import RECORD_MODELS, BusinessSystem, HouseholdRecord, Submission
from linkage.models import Notice, Person
from primitives.numbers import is_valid_individual_number
from primitives.vocabulary import NoticeEvent

from .conftest import deliver_pending_notices


def test_seed_demo_registers_overlapping_residents_through_the_api(
    systems: dict[str, BusinessSystem],
) -> None:
    out = StringIO()
    call_command("seed_demo", residents=8, seed=5, moves=1.0, stdout=out)

    assert HouseholdRecord.objects.count() == 8
    assert Person.objects.count() == 8  # one integrated number per person, however many systems
    others = {ns: RECORD_MODELS[ns].objects.count() for ns in ("02", "03", "04")}
    # Every system gets its share (60 %, 25 %, 10 %), and never none, whatever the seed.
    assert others == {"02": 4, "03": 2, "04": 1}
    integrated_by_person = dict(
        HouseholdRecord.objects.values_list("individual_number_index", "integrated_number")
    )
    for number_system in ("02", "03", "04"):
        for record in RECORD_MODELS[number_system].objects.all():
            assert record.integrated_number == integrated_by_person[record.individual_number_index]
            assert is_valid_individual_number(record.individual_number)
    assert set(Submission.objects.values_list("status", flat=True)) == {"accepted"}
    # Everyone moved (moves=1.0): every other system linked to them is told.
    assert Notice.objects.filter(event=NoticeEvent.ADDRESS_UPDATED).count() == sum(others.values())
    deliver_pending_notices()
    for number_system in ("02", "03", "04"):
        for record in RECORD_MODELS[number_system].objects.all():
            jyuki = HouseholdRecord.objects.get(
                individual_number_index=record.individual_number_index
            )
            assert record.address == jyuki.address
    assert "Registered 8 residents" in out.getvalue()
    assert "8 moved house" in out.getvalue()


def test_the_last_resident_is_marked_unknown_to_the_national_registry(
    systems: dict[str, BusinessSystem], settings: Any
) -> None:
    from intermediate.models import RegistryEntry

    settings.NATIONAL_REGISTRY_OPEN = True
    call_command("seed_demo", residents=3, seed=1, stdout=StringIO())
    assert list(RegistryEntry.objects.order_by("pk").values_list("unknown", flat=True)) == [
        False,
        False,
        True,
    ]


def test_seed_demo_needs_connected_systems(db: None) -> None:
    with pytest.raises(CommandError, match="not connected"):
        call_command("seed_demo", residents=1, stdout=StringIO())


def test_connecting_again_replaces_each_systems_client(
    systems: dict[str, BusinessSystem], live_server: Any
) -> None:
    from backbone.services import business_systems_connect
    from linkage.models import BackboneClient

    first = set(BackboneClient.objects.values_list("pk", flat=True))
    business_systems_connect(
        linkage_url=live_server.url,
        callback_base_url="http://127.0.0.1:9",  # another address, as a demo on another port
        names={"01": "住基"},
    )
    replaced = BackboneClient.objects.get(pk__in=first, number_system="01")
    assert replaced.revoked_at is not None
    live = BackboneClient.objects.get(number_system="01", revoked_at__isnull=True)
    assert live.callback_url == "http://127.0.0.1:9/backbone/01/notices"
    assert BackboneClient.objects.filter(pk__in=first, revoked_at__isnull=True).count() == 3
