"""Code requests (claim 2): one per person, created with the person, never twice."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import CodeRequest, CodeRequestStatus, CodeRequestTransition, Person


@transaction.atomic
def code_request_ensure(*, person: Person, cause: str) -> CodeRequest:
    """The person's code request, created in status `requesting` if the person has none.

    Runs inside the transaction that created the person, so the pending row and the person
    commit together or not at all. Two callers for one person cannot both create a row: the
    one-to-one constraint rejects the second, which then reads the first.
    """
    existing = CodeRequest.objects.filter(person=person).first()
    if existing is not None:
        return existing
    now = timezone.now()
    try:
        with transaction.atomic():
            code_request = CodeRequest.objects.create(
                person=person, status=CodeRequestStatus.REQUESTING, status_changed_at=now
            )
    except IntegrityError:
        return CodeRequest.objects.get(person=person)
    CodeRequestTransition.objects.create(
        code_request=code_request,
        from_status=CodeRequestStatus.NOT_REQUESTED,
        to_status=CodeRequestStatus.REQUESTING,
        cause=cause,
    )
    return code_request
