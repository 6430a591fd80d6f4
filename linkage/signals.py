"""Signal receivers: triggers only, each calls one service or hands work to one task after
commit. Listed in docs/signals.md."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest

from . import tasks
from .events import (
    code_acquisition_files_due,
    code_requests_due,
    codes_acquired,
    copies_due,
    inquiries_due,
    notices_due,
    persons_numbered,
)
from .labels import business_labels_forget
from .middleware import activity_mark
from .models import (
    AccessAction,
    AccessOutcome,
    BackboneClient,
    BusinessLabel,
    CodeRequest,
    Copy,
    Inquiry,
    Notice,
    Person,
)
from .services.audit import access_record
from .services.backbone_clients import backbone_clients_forget
from .services.code_requests import RELEASE_BATCH, code_requests_open
from .services.copies import copies_release
from .services.enqueueing import enqueue
from .services.inquiries import inquiries_release


@receiver(persons_numbered, dispatch_uid="linkage.persons_numbered_code_requests")
def persons_numbered_code_requests(
    sender: type[Person],
    persons: Sequence[Person],
    cause: str,
    created: Collection[int] = (),
    **kwargs: Any,
) -> None:
    """Newly numbered persons get their code request rows in the same transaction (claim 2),
    from the API and the bulk import alike."""
    code_requests_open(persons=persons, cause=cause, created=created)


@receiver(code_requests_due, dispatch_uid="linkage.code_requests_due_advance")
def code_requests_due_advance(
    sender: type[CodeRequest], code_request_ids: Sequence[int], **kwargs: Any
) -> None:
    """The request unit's task after commit: one message for one person, one per
    RELEASE_BATCH persons for a batch (a bulk import's chunk, the sweep's backlog)."""
    if len(code_request_ids) == 1:
        tasks.code_request_release_soon(code_request_ids[0])
        return
    for start in range(0, len(code_request_ids), RELEASE_BATCH):
        enqueue(tasks.code_requests_advance, list(code_request_ids[start : start + RELEASE_BATCH]))


@receiver(code_acquisition_files_due, dispatch_uid="linkage.code_acquisition_files_send")
def code_acquisition_files_send(
    sender: type[CodeRequest], drain: bool, file_ids: Sequence[int], **kwargs: Any
) -> None:
    """The file tasks after commit: gather waiting persons into files, send stalled files."""
    if drain:
        enqueue(tasks.code_acquisition_files_drain)
    for file_id in file_ids:
        enqueue(tasks.code_acquisition_file_send, file_id)


@receiver(codes_acquired, dispatch_uid="linkage.codes_acquired_copies_release")
def codes_acquired_copies_release(
    sender: type[CodeRequest], person_ids: Sequence[int], **kwargs: Any
) -> None:
    """The copies that waited for these persons' codes (符号未取得) go out (SPEC 11)."""
    copies_release(person_ids=person_ids)


@receiver(codes_acquired, dispatch_uid="linkage.codes_acquired_inquiries_release")
def codes_acquired_inquiries_release(
    sender: type[CodeRequest], person_ids: Sequence[int], **kwargs: Any
) -> None:
    """The inquiries that waited for these persons' codes go out (SPEC 11)."""
    inquiries_release(person_ids=person_ids)


@receiver(inquiries_due, dispatch_uid="linkage.inquiries_due_ask")
def inquiries_due_ask(sender: type[Inquiry], inquiry_ids: Sequence[int], **kwargs: Any) -> None:
    """The intermediate server is asked after commit: one message per INQUIRY_BATCH
    inquiries, so the workers ask them in parallel."""
    for start in range(0, len(inquiry_ids), settings.INQUIRY_BATCH):
        enqueue(tasks.inquiries_ask, list(inquiry_ids[start : start + settings.INQUIRY_BATCH]))


@receiver(copies_due, dispatch_uid="linkage.copies_due_deliver")
def copies_due_deliver(sender: type[Copy], copy_ids: Sequence[int], **kwargs: Any) -> None:
    """Delivery to the intermediate server after commit: one copy (the API's) joins the next
    drain; more go as one message per COPY_BATCH copies."""
    if len(copy_ids) == 1:
        transaction.on_commit(tasks.copies_drain_soon)
        return
    for start in range(0, len(copy_ids), settings.COPY_BATCH):
        enqueue(tasks.copies_deliver, list(copy_ids[start : start + settings.COPY_BATCH]))


@receiver(notices_due, dispatch_uid="linkage.notices_due_deliver")
def notices_due_deliver(sender: type[Notice], notice_ids: Sequence[int], **kwargs: Any) -> None:
    """One delivery task per notice after commit (the task owns its retries)."""
    for notice_id in notice_ids:
        enqueue(tasks.notice_deliver, notice_id)


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


@receiver(post_save, sender=BackboneClient, dispatch_uid="linkage.backbone_client_saved")
@receiver(post_delete, sender=BackboneClient, dispatch_uid="linkage.backbone_client_deleted")
def backbone_client_changed(sender: type[BackboneClient], **kwargs: Any) -> None:
    """A client created, edited or deleted here (the admin, a command) counts at once in this
    process; the others read the clients again within BACKBONE_CLIENTS_CACHE_SECONDS."""
    backbone_clients_forget()


@receiver(post_save, sender=BusinessLabel, dispatch_uid="linkage.business_label_saved")
@receiver(post_delete, sender=BusinessLabel, dispatch_uid="linkage.business_label_deleted")
def business_label_changed(sender: type[BusinessLabel], **kwargs: Any) -> None:
    """A label saved or deleted in the admin shows at once on every process's screens."""
    business_labels_forget()
