"""Signals (docs/signals.md): a new person gets one code request, in the same transaction."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_save
from django.utils import timezone

from linkage.crypto import blind_index, encrypt_individual_number
from linkage.models import CodeRequest, CodeRequestStatus, CodeRequestTransition, Person
from linkage.services.code_requests import code_request_ensure
from linkage.services.numbering import integrated_number_issue
from linkage.signals import person_created_code_request

pytestmark = pytest.mark.django_db


def new_person(number: str = "983205673214") -> Person:
    index = blind_index(number)
    return Person.objects.create(
        integrated_number=integrated_number_issue(),
        individual_number_index=index,
        individual_number_encrypted=encrypt_individual_number(number, index=index),
    )


def test_creating_a_person_creates_its_code_request_in_requesting() -> None:
    person = new_person()
    request = CodeRequest.objects.get(person=person)
    assert request.status == CodeRequestStatus.REQUESTING
    transition = CodeRequestTransition.objects.get(code_request=request)
    assert (transition.from_status, transition.to_status, transition.cause) == (
        "not_requested",
        "requesting",
        "person_registered",
    )


def test_saving_a_known_person_again_creates_no_second_request() -> None:
    person = new_person()
    person.save()
    assert CodeRequest.objects.filter(person=person).count() == 1


def test_ensure_twice_keeps_one_request_and_one_transition() -> None:
    person = new_person()
    again = code_request_ensure(person=person, cause="manual")
    assert again == CodeRequest.objects.get(person=person)
    assert CodeRequestTransition.objects.count() == 1


def test_the_request_rolls_back_with_the_person() -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        new_person()
        raise RuntimeError("the storing transaction fails after the person was created")
    assert Person.objects.count() == 0
    assert CodeRequest.objects.count() == 0


def test_fixture_loading_raw_saves_do_not_create_requests() -> None:
    index = blind_index("983205673214")
    person = Person(
        integrated_number=integrated_number_issue(),
        individual_number_index=index,
        individual_number_encrypted=encrypt_individual_number("983205673214", index=index),
        created_at=timezone.now(),
    )
    person.save_base(raw=True)  # what loaddata does
    assert Person.objects.filter(pk=person.pk).exists()
    assert not CodeRequest.objects.filter(person=person).exists()


def test_receiver_is_connected_and_documented() -> None:
    uids = [lookup_key[0] for lookup_key, *_ in post_save.receivers]
    assert "linkage.person_created_code_request" in uids
    docs = (Path(settings.BASE_DIR) / "docs" / "signals.md").read_text(encoding="utf-8")
    assert person_created_code_request.__name__ in docs
    assert code_request_ensure.__name__ in docs
