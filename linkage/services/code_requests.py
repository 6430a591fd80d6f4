"""Code requests (claim 2): one per person, created with the person, never twice."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from ..models import CodeRequest, CodeRequestStatus, CodeRequestTransition, Person


@transaction.atomic(savepoint=False)
def code_request_ensure(*, person: Person, cause: str) -> CodeRequest:
    """The person's code request, created in status `requesting` if the person has none.

    Runs inside the transaction that created the person, so the pending row and the person
    commit together or not at all. Two callers racing for one person cannot both create a
    row: the one-to-one constraint on CodeRequest.person rejects the second with an
    IntegrityError, which aborts that caller's transaction for it to retry (as
    address_change_receive does), and the retry finds the first row here.
    """
    existing = CodeRequest.objects.filter(person=person).first()
    if existing is not None:
        return existing
    code_request = CodeRequest.objects.create(
        person=person, status=CodeRequestStatus.REQUESTING, status_changed_at=timezone.now()
    )
    CodeRequestTransition.objects.create(
        code_request=code_request,
        from_status=CodeRequestStatus.NOT_REQUESTED,
        to_status=CodeRequestStatus.REQUESTING,
        cause=cause,
    )
    return code_request
