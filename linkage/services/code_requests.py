"""Code requests (claim 2, request unit 38, confirmation unit 42).

A person's code request row is written in the transaction that creates the person and is the
source of truth for the work owed to the intermediate server. Tasks only carry its id; each
step below moves the row one stage on with a conditional UPDATE, so a step run twice (a
redelivered message, the sweep) finds the stage already moved and does nothing; the
intermediate server deduplicates the HTTP side by the idempotency key.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from primitives.crypto import blind_indexes
from primitives.http import PeerRefused

from ..clients import intermediate
from ..clients.intermediate import FileEntry
from ..events import code_acquisition_files_due, code_requests_due, codes_acquired
from ..models import (
    CodeAcquisitionFile,
    CodeRequest,
    CodeRequestStage,
    CodeRequestStatus,
    CodeRequestTransition,
    Person,
)
from ..tables import build, insert
from .notices import notice_serial_issued

logger = logging.getLogger(__name__)


class CodeRequestNotRetryable(Exception):
    """Only a request in status `error` can be sent again."""


def _transition(code_request: CodeRequest, *, to_status: str, cause: str, error: str = "") -> None:
    """Change the status and record the change with its cause (SPEC 6: every transition)."""
    now = timezone.now()
    CodeRequestTransition.objects.create(
        code_request=code_request,
        from_status=code_request.status,
        to_status=to_status,
        cause=cause[:200],
    )
    code_request.status = to_status
    code_request.status_changed_at = now
    code_request.last_error = error
    code_request.save(update_fields=["status", "status_changed_at", "last_error", "updated_at"])


# Code requests released to the request unit per message when many open at once (a bulk
# import's chunk): one task per few hundred persons, not one per person.
RELEASE_BATCH = 500


def code_requests_open(
    *, persons: Sequence[Person], cause: str, created: Collection[int] = ()
) -> list[CodeRequest]:
    """Request (unit 38): the code request of each new person, in status `requesting`, for
    those that have none; a batch of one (the API) or thousands (the bulk import). The
    persons `created` (their ids) by this very transaction have none: only the others are
    looked up.

    Runs inside the transaction that created the persons, so the pending rows and the
    persons commit together or not at all; the request unit's tasks are enqueued after
    commit. Two callers racing for one person cannot both create a row: the one-to-one
    constraint on CodeRequest.person rejects the second with an IntegrityError, which
    aborts that caller's transaction for it to retry (as the write path does), and
    the retry finds the first row here.
    """
    stored = [person.pk for person in persons if person.pk not in created]
    having: set[int] = set()
    if stored:
        having.update(
            CodeRequest.objects.filter(person_id__any=stored).values_list("person_id", flat=True)
        )
    now = timezone.now()
    # Set-wise (linkage.tables): a bulk import's chunk opens thousands at once.
    code_requests = [
        build(
            CodeRequest,
            person_id=person.pk,
            status=CodeRequestStatus.REQUESTING,
            status_changed_at=now,
            stage_changed_at=now,
        )
        for person in persons
        if person.pk not in having
    ]
    insert(code_requests)
    insert(
        [
            build(
                CodeRequestTransition,
                code_request_id=code_request.pk,
                from_status=CodeRequestStatus.NOT_REQUESTED,
                to_status=CodeRequestStatus.REQUESTING,
                cause=cause,
            )
            for code_request in code_requests
        ]
    )
    if code_requests:
        code_requests_due.send(
            sender=CodeRequest, code_request_ids=[code_request.pk for code_request in code_requests]
        )
    return code_requests


def idempotency_key(code_request: CodeRequest) -> str:
    return f"{settings.LG_CODE}-{code_request.person.integrated_number}-{code_request.generation}"


def _move(code_request: CodeRequest, from_stage: str, **changes: Any) -> bool:
    """Move the row on if it is still where this step found it; False if someone else did."""
    return bool(
        CodeRequest.objects.filter(
            pk=code_request.pk,
            status=CodeRequestStatus.REQUESTING,
            stage=from_stage,
            generation=code_request.generation,
        ).update(stage_changed_at=timezone.now(), **changes)
    )


def _move_all(code_requests: Sequence[CodeRequest], from_stage: str, **changes: Any) -> int:
    """_move for many rows in one UPDATE (those of one generation each, as they were read)."""
    moved = 0
    for generation in {code_request.generation for code_request in code_requests}:
        moved += CodeRequest.objects.filter(
            pk__in=[c.pk for c in code_requests if c.generation == generation],
            status=CodeRequestStatus.REQUESTING,
            stage=from_stage,
            generation=generation,
        ).update(stage_changed_at=timezone.now(), **changes)
    return moved


def _fail(code_request: CodeRequest, *, cause: str, error: str) -> None:
    """`error` for a row still where the caller read it (status, generation and stage): a
    refusal answers the step that was asked, and a row another run has since moved on (the
    same step, sent again after a timeout, went through) is not failed by it."""
    with transaction.atomic():
        locked = CodeRequest.objects.select_for_update().get(pk=code_request.pk)
        if (
            locked.status == CodeRequestStatus.REQUESTING
            and locked.generation == code_request.generation
            and locked.stage == code_request.stage
        ):
            _transition(locked, to_status=CodeRequestStatus.ERROR, cause=cause, error=error)


def code_requests_pending_ids(*, after: int = 0, limit: int = RELEASE_BATCH) -> list[int]:
    """The next `limit` code requests waiting for their serial-number request (S28), by id
    above `after`: what a drain releases in one request."""
    return list(
        CodeRequest.objects.filter(
            status=CodeRequestStatus.REQUESTING, stage=CodeRequestStage.PENDING, pk__gt=after
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def code_requests_serial_request(*, code_request_ids: Sequence[int]) -> int:
    """S28-S29 for a batch of persons (one for the API, a few hundred for a bulk import), in
    one request to the intermediate server: a processing serial number for each.

    Returns how many rows moved to `serial_requested`; rows no longer pending (a step run
    twice) are left alone. PeerUnavailable propagates for the task to retry the batch (the
    idempotency keys make the repeat the same requests); a person the intermediate server
    refuses goes into `error` with the reason, and the others go on.
    """
    pending = list(
        CodeRequest.objects.select_related("person")
        .filter(
            pk__in=code_request_ids,
            status=CodeRequestStatus.REQUESTING,
            stage=CodeRequestStage.PENDING,
        )
        .order_by("pk")
    )
    if not pending:
        return 0
    refusals = intermediate.serial_number_requests(
        [
            intermediate.SerialRequest(
                integrated_number=code_request.person.integrated_number,
                individual_number=code_request.person.individual_number,
                idempotency_key=idempotency_key(code_request),
            )
            for code_request in pending
        ]
    )
    taken = []
    for code_request, refused in zip(pending, refusals, strict=True):
        if refused is None:
            taken.append(code_request)
            continue
        _fail(
            code_request,
            cause="request unit: serial-number request refused",
            error=f"intermediate server refused the serial-number request ({refused.code})",
        )
    return _move_all(
        taken,
        CodeRequestStage.PENDING,
        stage=CodeRequestStage.SERIAL_REQUESTED,
        attempts=F("attempts") + 1,
    )


def code_acquisition_file_assemble(*, limit: int | None = None) -> CodeAcquisitionFile | None:
    """S30 preparation: gather up to `limit` persons whose serial numbers were requested into
    one code acquisition request file (SKIP LOCKED lets several workers assemble at once)."""
    with transaction.atomic():
        ids = list(
            CodeRequest.objects.select_for_update(skip_locked=True)
            .filter(status=CodeRequestStatus.REQUESTING, stage=CodeRequestStage.SERIAL_REQUESTED)
            .order_by("stage_changed_at", "pk")
            .values_list("pk", flat=True)[: limit or settings.CODE_REQUEST_FILE_MAX]
        )
        if not ids:
            return None
        file = CodeAcquisitionFile.objects.create()
        CodeRequest.objects.filter(pk__in=ids).update(
            stage=CodeRequestStage.IN_FILE, file=file, stage_changed_at=timezone.now()
        )
    return file


def code_acquisition_file_send(*, file_id: int) -> str:
    """S30-S31: send the file request (once: the idempotency key is the file's) and keep the
    reception number."""
    file = CodeAcquisitionFile.objects.get(pk=file_id)
    if file.reception_number:
        return file.reception_number
    members = list(
        file.code_requests.filter(
            status=CodeRequestStatus.REQUESTING, stage=CodeRequestStage.IN_FILE
        )
        .select_related("person")
        .order_by("pk")
    )
    if not members:
        return ""
    try:
        reception_number = intermediate.code_acquisition_file_request(
            integrated_numbers=[member.person.integrated_number for member in members],
            idempotency_key=str(file.idempotency_key),
        )
    except PeerRefused as refused:
        for member in members:
            _fail(
                member,
                cause="request unit: code acquisition file refused",
                error=f"intermediate server refused the file ({refused.status} {refused.code})",
            )
        return ""
    CodeAcquisitionFile.objects.filter(pk=file.pk, reception_number="").update(
        reception_number=reception_number
    )
    file.code_requests.filter(stage=CodeRequestStage.IN_FILE).update(
        reception_number=reception_number
    )
    return reception_number


def code_acquisition_file_awaited(*, file_id: int) -> bool:
    """Whether a file the intermediate server has not made ready is still one its task waits
    for: younger than CODE_REQUEST_STALLED_AFTER, after which the sweep takes its rows up."""
    younger = timezone.now() - datetime.timedelta(seconds=settings.CODE_REQUEST_STALLED_AFTER)
    return CodeAcquisitionFile.objects.filter(pk=file_id, created_at__gt=younger).exists()


def code_acquisition_file_distribute(*, file_id: int) -> int:
    """S32-S34: fetch the file by reception number and send each (processing serial number,
    individual number) to 住基 or 住基GW. FileNotReady propagates until the serial numbers
    exist. Returns how many were sent now; rows already sent are skipped, and a file with
    none left is not fetched again (it may be released already), only released."""
    file = CodeAcquisitionFile.objects.get(pk=file_id)
    if not file.reception_number:
        return 0
    members = list(
        file.code_requests.filter(
            status=CodeRequestStatus.REQUESTING, stage=CodeRequestStage.IN_FILE
        ).select_related("person")
    )
    entries = (
        {
            entry.integrated_number: entry
            for entry in intermediate.code_acquisition_file_fetch(
                reception_number=file.reception_number
            )
        }
        if members
        else {}
    )
    carried: list[tuple[CodeRequest, FileEntry]] = []
    for member in members:
        entry = entries.get(member.person.integrated_number)
        if entry is None or member.person.individual_number_index not in blind_indexes(
            entry.individual_number
        ):
            _fail(
                member,
                cause="request unit: code acquisition file",
                error="the code acquisition file does not carry this person's entry",
            )
            continue
        carried.append((member, entry))
    sent = _hand_over(carried)
    CodeAcquisitionFile.objects.filter(pk=file.pk, fetched_at__isnull=True).update(
        fetched_at=timezone.now()
    )
    # Every entry is sent on (or failed): the file, and the numbers it carries, are released.
    # A failure here retries the task, which finds nothing left to send and releases again.
    intermediate.code_acquisition_file_release(reception_number=file.reception_number)
    return sent


def _hand_over(carried: Sequence[tuple[CodeRequest, FileEntry]]) -> int:
    """S34. First embodiment: a `code_request.serial_issued` notice to 住基 per person,
    written in the transaction that marks the row sent. Second: every pair of the file posted
    to the 住基GW server in one request, then the rows it took marked sent in one UPDATE."""
    if not carried:
        return 0
    if settings.CODE_REQUEST_ROUTE == "gateway":
        refusals = intermediate.serial_numbers_send([entry for _, entry in carried])
        taken = []
        for (member, entry), refused in zip(carried, refusals, strict=True):
            if refused is None:
                taken.append((member, entry))
                continue
            _fail(
                member,
                cause="request unit: S34 (住基GW)",
                error=f"the 住基GW server refused the pair ({refused.code})",
            )
        return _sent_mark(taken)
    return sum(
        _hand_over_to_jyuki(member, entry.processing_serial_number) for member, entry in carried
    )


def _sent_mark(taken: Sequence[tuple[CodeRequest, FileEntry]]) -> int:
    """The rows whose pairs went on, moved to `sent` with their serial numbers: one locked
    read and one UPDATE per 500 rows, for those still in the file in the generation read."""
    serial_of = {member.pk: entry.processing_serial_number for member, entry in taken}
    generation = {member.pk: member.generation for member, _ in taken}
    with transaction.atomic():
        rows = [
            row
            for row in CodeRequest.objects.select_for_update()
            .filter(
                pk__in=serial_of,
                status=CodeRequestStatus.REQUESTING,
                stage=CodeRequestStage.IN_FILE,
            )
            .only("pk", "generation")
            if row.generation == generation[row.pk]
        ]
        now = timezone.now()
        for row in rows:
            row.stage = CodeRequestStage.SENT
            row.processing_serial_number = serial_of[row.pk]
            row.stage_changed_at = now
        CodeRequest.objects.bulk_update(
            rows, ["stage", "processing_serial_number", "stage_changed_at"], batch_size=500
        )
    return len(rows)


def _hand_over_to_jyuki(member: CodeRequest, processing_serial_number: str) -> int:
    with transaction.atomic():
        if not _move_to_sent(member, processing_serial_number):
            return 0
        if notice_serial_issued(
            person=member.person, processing_serial_number=processing_serial_number
        ):
            return 1
        transaction.set_rollback(True)
    _fail(
        member,
        cause="request unit: S34",
        error=(
            "no 住基 business system has a callback URL for code_request.serial_issued "
            "(create_backbone_client 01 ... --callback-url)"
        ),
    )
    return 0


def _move_to_sent(member: CodeRequest, processing_serial_number: str) -> bool:
    return _move(
        member,
        CodeRequestStage.IN_FILE,
        stage=CodeRequestStage.SENT,
        processing_serial_number=processing_serial_number,
    )


def code_requests_confirm(
    *, batch_size: int = 500, progress: Callable[[], object] | None = None
) -> dict[str, int]:
    """Confirmation unit 42: ask the intermediate server about every `requesting` person whose
    request went out; `requested` when the code is there, `error` with the reason otherwise.
    Set-wise per batch of `batch_size`: one inquiry, one locked read, one insert of the
    transitions and one UPDATE per outcome (and per distinct reason). `progress` is called
    after each batch (the task renews its hold on the run)."""
    counts = {"acquired": 0, "error": 0, "pending": 0}
    last_pk = 0
    while True:
        batch = list(
            CodeRequest.objects.filter(status=CodeRequestStatus.REQUESTING, pk__gt=last_pk)
            .exclude(stage=CodeRequestStage.PENDING)
            .select_related("person")
            .order_by("pk")[:batch_size]
        )
        if not batch:
            return counts
        last_pk = batch[-1].pk
        by_number = {member.person.integrated_number: member for member in batch}
        acquired: list[CodeRequest] = []
        failed: dict[int, str] = {}
        for result in intermediate.code_status_inquire(integrated_numbers=list(by_number)):
            member = by_number[result["integrated_number"]]
            if result["status"] == "acquired":
                acquired.append(member)
            elif result["status"] == "error":
                failed[member.pk] = result.get("reason", "")
            else:
                counts["pending"] += 1
        counts["acquired"] += _confirmed(
            acquired, to_status=CodeRequestStatus.REQUESTED, cause="confirmation: code acquired"
        )
        counts["error"] += _confirmed(
            [member for member in batch if member.pk in failed],
            to_status=CodeRequestStatus.ERROR,
            cause="confirmation: intermediate server reports an error",
            errors=failed,
        )
        if progress is not None:
            progress()


def _confirmed(
    members: Sequence[CodeRequest],
    *,
    to_status: str,
    cause: str,
    errors: dict[int, str] | None = None,
) -> int:
    """Move confirmed rows on, each with its transition. Only rows still `requesting` in the
    generation that was asked about move; rows another confirmation run holds are skipped
    (SKIP LOCKED: that run moves them), so overlapping runs never record a change twice."""
    if not members:
        return 0
    generation = {member.pk: member.generation for member in members}
    with transaction.atomic():
        moving = [
            pk
            for pk, locked_generation in CodeRequest.objects.select_for_update(skip_locked=True)
            .filter(pk__in=generation, status=CodeRequestStatus.REQUESTING)
            .values_list("pk", "generation")
            if locked_generation == generation[pk]
        ]
        insert(
            [
                build(
                    CodeRequestTransition,
                    code_request_id=pk,
                    from_status=CodeRequestStatus.REQUESTING,
                    to_status=to_status,
                    cause=cause[:200],
                )
                for pk in moving
            ]
        )
        by_error: dict[str, list[int]] = defaultdict(list)
        for pk in moving:
            by_error[(errors or {}).get(pk, "")].append(pk)
        now = timezone.now()
        for error, pks in by_error.items():
            CodeRequest.objects.filter(pk__in=pks).update(
                status=to_status, status_changed_at=now, last_error=error, updated_at=now
            )
        if to_status == CodeRequestStatus.REQUESTED and moving:
            person_of = {member.pk: member.person_id for member in members}
            codes_acquired.send(sender=CodeRequest, person_ids=[person_of[pk] for pk in moving])
    return len(moving)


@transaction.atomic
def code_request_retry(*, code_request: CodeRequest, cause: str) -> CodeRequest:
    """Send a failed request again (error -> requesting) as a new generation."""
    locked = CodeRequest.objects.select_for_update().get(pk=code_request.pk)
    if locked.status != CodeRequestStatus.ERROR:
        raise CodeRequestNotRetryable(f"code request is {locked.status}, not error")
    locked.generation += 1
    locked.stage = CodeRequestStage.PENDING
    locked.stage_changed_at = timezone.now()
    locked.file = None
    locked.processing_serial_number = ""
    locked.reception_number = ""
    locked.save(
        update_fields=[
            "generation",
            "stage",
            "stage_changed_at",
            "file",
            "processing_serial_number",
            "reception_number",
        ]
    )
    _transition(locked, to_status=CodeRequestStatus.REQUESTING, cause=cause)
    code_requests_due.send(sender=CodeRequest, code_request_ids=[locked.pk])
    return locked


def code_requests_sweep(
    *, stalled_after: datetime.timedelta | None = None, limit: int = 5000
) -> int:
    """Re-enqueue requesting rows whose stage has not moved for `stalled_after`: their task
    never ran (broker lost the message) or died (worker killed). Each row is claimed with a
    conditional UPDATE, so two sweeps never enqueue one row twice."""
    cutoff = timezone.now() - (
        stalled_after or datetime.timedelta(seconds=settings.CODE_REQUEST_STALLED_AFTER)
    )
    stalled = CodeRequest.objects.filter(
        status=CodeRequestStatus.REQUESTING,
        stage__in=[
            CodeRequestStage.PENDING,
            CodeRequestStage.SERIAL_REQUESTED,
            CodeRequestStage.IN_FILE,
        ],
        stage_changed_at__lt=cutoff,
    ).values_list("pk", "stage", "file_id", "stage_changed_at")[:limit]
    claimed = 0
    pending: list[int] = []
    drain = False
    file_ids: set[int] = set()
    for pk, stage, file_id, changed_at in stalled:
        if not CodeRequest.objects.filter(pk=pk, stage_changed_at=changed_at).update(
            stage_changed_at=timezone.now()
        ):
            continue
        claimed += 1
        if stage == CodeRequestStage.PENDING:
            pending.append(pk)
        elif stage == CodeRequestStage.SERIAL_REQUESTED:
            drain = True
        elif file_id is not None:
            file_ids.add(file_id)
    with transaction.atomic():
        if pending:
            code_requests_due.send(sender=CodeRequest, code_request_ids=pending)
        if drain or file_ids:
            code_acquisition_files_due.send(
                sender=CodeRequest, drain=drain, file_ids=sorted(file_ids)
            )
    if claimed:
        messages = -(-len(pending) // RELEASE_BATCH) + bool(drain) + len(file_ids)
        logger.info("sweep re-enqueued %d stalled code requests in %d messages", claimed, messages)
    return claimed
