"""Correction of a person's basic items by a clerk (online function 40)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from primitives.vocabulary import BASIC_ITEMS

from ..models import AddressVersion, Person
from .notices import notices_for_update


class CorrectionUnchanged(ValueError):
    """A correction must change at least one basic item."""


class CorrectionOutdated(ValueError):
    """A version was stored after the one the correction started from."""

    def __init__(self, current_seq: int) -> None:
        super().__init__(f"the current version is history_seq {current_seq}")
        self.current_seq = current_seq


@transaction.atomic
def person_correct(
    *,
    person: Person,
    items: dict[str, Any],
    reason: str,
    corrected_by: User | None,
    based_on: int,
) -> AddressVersion:
    """A clerk's correction of the basic items (online function 40): a new version with the
    reason and who made it, then address.updated to every system linked to the person.
    `based_on` is the history_seq of the current version the clerk corrected; if another is
    current now, CorrectionOutdated (read under the person's lock, which every write of a
    version takes)."""
    person = Person.objects.select_for_update(of=("self",)).get(pk=person.pk)
    # The items the clerk sees and corrects are the current ones (SPEC 10.5); the new version
    # takes the next history_seq.
    previous = person.versions.filter(is_current=True).first()
    newest = person.versions.order_by("-history_seq").first()
    if previous is None or newest is None:
        raise ValueError("a person without versions cannot be corrected")
    if previous.history_seq != based_on:
        raise CorrectionOutdated(previous.history_seq)
    if all(
        items.get(name, getattr(previous, name)) == getattr(previous, name) for name in BASIC_ITEMS
    ):
        raise CorrectionUnchanged("the correction changes none of the basic items")
    AddressVersion.objects.supersede([person.pk])
    version = AddressVersion.objects.create(
        person=person,
        history_seq=newest.history_seq + 1,
        source=AddressVersion.Source.CORRECTION,
        number_system="",
        address_number="",
        changed_at=timezone.now(),
        reason=reason,
        corrected_by=corrected_by,
        **{name: items.get(name, getattr(previous, name)) for name in BASIC_ITEMS},
    )
    notices_for_update(person=person, version=version, previous=previous)
    return version
