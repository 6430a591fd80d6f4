"""Signal receivers: triggers only, each calls one service. Listed in docs/signals.md."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.http import HttpRequest

from .middleware import activity_mark
from .models import AccessAction, AccessOutcome, Person
from .services.audit import access_record
from .services.code_requests import code_request_ensure


@receiver(post_save, sender=Person, dispatch_uid="linkage.person_created_code_request")
def person_created_code_request(
    sender: type[Person], instance: Person, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    """A newly numbered person gets its code request row in the same transaction (claim 2)."""
    if created and not raw:
        code_request_ensure(person=instance, cause="person_registered")


@receiver(user_login_failed, dispatch_uid="linkage.sign_in_failed_recorded")
def sign_in_failed_recorded(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    """A failed sign-in goes to the access audit with the name tried (never the password)."""
    access_record(
        action=AccessAction.SIGN_IN_FAILED,
        outcome=AccessOutcome.DENIED,
        request=request,
        username=str(credentials.get("username", ""))[:150],
    )


@receiver(user_logged_in, dispatch_uid="linkage.sign_in_starts_activity")
def sign_in_starts_activity(
    sender: Any, request: HttpRequest | None = None, user: Any = None, **kwargs: Any
) -> None:
    """The idle timeout counts from the sign-in (saved with it: no extra write later)."""
    if request is not None and hasattr(request, "session"):
        activity_mark(request.session)
