"""Signal receivers: triggers only, each calls one service. Listed in docs/signals.md."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import Person
from .services.code_requests import code_request_ensure


@receiver(post_save, sender=Person, dispatch_uid="linkage.person_created_code_request")
def person_created_code_request(
    sender: type[Person], instance: Person, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    """A newly numbered person gets its code request row in the same transaction (claim 2)."""
    if created and not raw:
        code_request_ensure(person=instance, cause="person_registered")
