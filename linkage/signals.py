"""Signal receivers: triggers only, each calls one service. Listed in docs/signals.md."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from .events import persons_numbered
from .middleware import activity_mark
from .models import AccessAction, AccessOutcome, Person
from .services.audit import access_record
from .services.code_requests import code_requests_open


@receiver(persons_numbered, dispatch_uid="linkage.persons_numbered_code_requests")
def persons_numbered_code_requests(
    sender: type[Person], persons: Sequence[Person], cause: str, **kwargs: Any
) -> None:
    """Newly numbered persons get their code request rows in the same transaction (claim 2),
    from the API and the bulk import alike."""
    code_requests_open(persons=persons, cause=cause)


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
