"""What the simulated business systems do (seed S11-S16, S120, S34/S60).

A clerk's registration or change is stored in the system's own table together with the
address change it produces (a Submission), in one transaction; the change is then sent to
linkage over real HTTP with the system's own key. Whatever linkage answers is kept and shown;
a change that did not get through can be sent again with the same event_id.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from io import StringIO
from typing import Any, Literal

from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.sandbox import simulator_index_key
from primitives.crypto import blind_index, encrypt_secret
from primitives.faults import fault_control_set
from primitives.sealed import pair_record, sealed
from primitives.signing import EVENT_ID_HEADER, SignatureRejected, signature_verify
from primitives.vocabulary import BASIC_ITEMS, NoticeEvent

from .linkage_client import LinkageApiClient, LinkageUnavailable
from .models import (
    API_KEY_PURPOSE,
    NOTICE_SECRET_PURPOSE,
    OAUTH_SECRET_PURPOSE,
    RECEIVERS,
    RECORD_MODELS,
    BusinessSystem,
    IncomeRecord,
    ReceivedNotice,
    ReceiverControl,
    ResidentRecord,
    SerialNumberNotice,
    Submission,
    WelfareRecord,
)
from .oauth import token_source
from .tasks import serial_numbers_forward_soon


class AlreadyRegistered(Exception):
    """This system already holds a record for the individual number."""

    def __init__(self, address_number: str) -> None:
        super().__init__(f"already registered as address number {address_number}")
        self.address_number = address_number


class NoticeRefused(Exception):
    """A notice this system will not apply; `status` is the HTTP answer (401, 400, 409)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


# --- Setting the systems up ---------------------------------------------------------------


def business_systems_connect(
    *,
    linkage_url: str,
    callback_base_url: str,
    names: Mapping[str, str],
    authentication: Literal["oauth", "key"] = "oauth",
) -> dict[str, str]:
    """Give each named system a linkage client (notice secret, callback URL at
    `callback_base_url`) through linkage's own command, as an operator would, and store its
    credentials on the system's side: an OAuth client (SPEC 12, `create_oauth_client`), or a
    static key (`create_backbone_client`, the transition a vendor may still be on). Returns
    each system's secret: the key, or the OAuth client secret."""
    issued_secrets: dict[str, str] = {}
    for number_system, name in names.items():
        callback_url = f"{callback_base_url.rstrip('/')}/backbone/{number_system}/notices"
        # Connecting again replaces the system's earlier client: its key and secret are no
        # longer the system's, so its notices could never be verified.
        earlier = BusinessSystem.objects.filter(number_system=number_system).first()
        if earlier is not None and earlier.linkage_client_id is not None:
            with contextlib.suppress(CommandError):  # revoked already
                call_command(
                    "revoke_backbone_client", str(earlier.linkage_client_id), stdout=StringIO()
                )
        create = _oauth_client_create if authentication == "oauth" else _key_client_create
        issued = create(number_system, name, callback_url)
        BusinessSystem.objects.update_or_create(
            number_system=number_system,
            defaults={
                "name": name,
                "linkage_url": linkage_url,
                "linkage_client_id": issued.client_id,
                "oauth_client_id": issued.oauth_client_id,
                "oauth_secret_encrypted": _sealed(issued.oauth_secret, OAUTH_SECRET_PURPOSE),
                "api_key_encrypted": _sealed(issued.key, API_KEY_PURPOSE),
                "notice_secret_encrypted": _sealed(issued.notice_secret, NOTICE_SECRET_PURPOSE),
            },
        )
        issued_secrets[number_system] = issued.oauth_secret or issued.key
    return issued_secrets


def _sealed(secret: str, purpose: str) -> str:
    return encrypt_secret(secret, purpose=purpose) if secret else ""


@dataclass(frozen=True)
class _IssuedClient:
    client_id: int
    notice_secret: str
    key: str = ""
    oauth_client_id: str = ""
    oauth_secret: str = ""


def _command_output(command: str, *arguments: str, **options: str) -> tuple[int, list[str]]:
    """The backbone client's number (`#N` on the first line) and every line printed."""
    out = StringIO()
    call_command(command, *arguments, stdout=out, **options)
    lines = out.getvalue().strip().splitlines()
    created = re.search(r"#(\d+)", lines[0]) if lines else None
    if created is None or len(lines) < 3:
        raise CommandError(f"{command} printed something unexpected")
    return int(created.group(1)), lines


def _notice_secret(lines: list[str]) -> str:
    return (
        next(line for line in lines if line.startswith("Notice signing secret"))
        .rsplit(":", 1)[1]
        .strip()
    )


def _key_client_create(number_system: str, name: str, callback_url: str) -> _IssuedClient:
    """`manage.py create_backbone_client`, read as its documented output: the client's number
    on the first line, the notice secret on the second, the key on the last."""
    client_id, lines = _command_output(
        "create_backbone_client", number_system, name, callback_url=callback_url
    )
    return _IssuedClient(
        client_id=client_id,
        notice_secret=_notice_secret(lines),
        key=lines[-1].strip(),
    )


def _oauth_client_create(number_system: str, name: str, callback_url: str) -> _IssuedClient:
    """`manage.py create_oauth_client`, read as its documented output: `client_id <id>` and
    `client_secret <secret>` as its last two lines."""
    client_id, lines = _command_output(
        "create_oauth_client", number_system, name, callback_url=callback_url
    )
    labelled = dict(line.split(" ", 1) for line in lines[-2:])
    if set(labelled) != {"client_id", "client_secret"}:
        raise CommandError("create_oauth_client printed something unexpected")
    return _IssuedClient(
        client_id=client_id,
        notice_secret=_notice_secret(lines),
        oauth_client_id=labelled["client_id"].strip(),
        oauth_secret=labelled["client_secret"].strip(),
    )


def receiver_control_set(name: str, **changes: Any) -> ReceiverControl:
    """Switch the faults of a business system's notice receiver (jyuki, tax, nhi, welfare)."""
    return fault_control_set(ReceiverControl, tuple(RECEIVERS.values()), name, **changes)


def linkage_client_of(system: BusinessSystem) -> LinkageApiClient:
    if system.oauth_client_id:
        source = token_source(
            token_url=f"{system.linkage_url.rstrip('/')}/oauth/token",
            client_id=system.oauth_client_id,
            client_secret=system.oauth_secret,
        )
        return LinkageApiClient(system.linkage_url, token_source=source)
    return LinkageApiClient(system.linkage_url, system.api_key)


# --- A clerk's registration and change (S11-S16) ------------------------------------------


def address_number_issue(system: BusinessSystem) -> str:
    """S12: the system's next address number, `<number system digit><9 digits>`."""
    locked = BusinessSystem.objects.select_for_update().get(pk=system.pk)
    locked.last_address_number += 1
    locked.save(update_fields=["last_address_number"])
    return f"{int(system.number_system)}{locked.last_address_number:09d}"


def _change_body(record: ResidentRecord) -> dict[str, Any]:
    """S13: the address change for the record as it is now (without the individual number)."""
    return {
        "number_system": record.NUMBER_SYSTEM,
        "address_number": record.address_number,
        "changed_at": timezone.now().isoformat(),
        "person": {
            "name": record.name,
            "name_kana": record.name_kana,
            "birth_date": record.birth_date.isoformat(),
            "sex": record.sex,
            "address": record.address,
        },
        "business": {
            "data_type": record.DATA_TYPE,
            "confirmed_at": timezone.now().isoformat(),
            "items": record.business_items(),
        },
    }


def _submission_create(
    record: ResidentRecord, kind: str, *, resolution: Mapping[str, str] | None = None
) -> Submission:
    # An older change not yet accepted is replaced: this one carries the record as it is now,
    # and sending the older one later would make linkage store stale items as the newest.
    Submission.objects.filter(
        number_system=record.NUMBER_SYSTEM, address_number=record.address_number
    ).exclude(status=Submission.Status.ACCEPTED).update(status=Submission.Status.SUPERSEDED)
    return Submission.objects.create(
        number_system=record.NUMBER_SYSTEM,
        address_number=record.address_number,
        event_id=f"{record.NUMBER_SYSTEM}-{uuid.uuid4()}",
        kind=kind,
        body={**_change_body(record), **({"resolution": dict(resolution)} if resolution else {})},
    )


@dataclass(frozen=True)
class Outcome:
    record: ResidentRecord
    submission: Submission


def resident_register(
    *,
    system: BusinessSystem,
    individual_number: str,
    items: Mapping[str, Any],
    resolution: Mapping[str, str] | None = None,
) -> Outcome:
    """S11-S16: store a new resident under a new address number and send it to linkage. A
    resident without an individual number ("") carries the clerk's `resolution` after a
    candidate search: `{"mode": "new"}` or `{"mode": "link", "integrated_number": ...}`."""
    model = RECORD_MODELS[system.number_system]
    with transaction.atomic():
        number: dict[str, Any] = {"individual_number_index": None}
        if individual_number:
            index = blind_index(individual_number, key=simulator_index_key())
            existing = model.objects.filter(individual_number_index=index).first()
            if existing is not None:
                raise AlreadyRegistered(existing.address_number)
            number = sealed(individual_number, index_key=simulator_index_key())
        record = model.objects.create(
            address_number=address_number_issue(system), **number, **items
        )
        submission = _submission_create(record, Submission.Kind.REGISTER, resolution=resolution)
    return Outcome(record, submission_send(submission=submission, system=system, record=record))


def candidates_search(*, system: BusinessSystem, items: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The candidates linkage knows for these basic items (SPEC 10.2), best first."""
    person = {
        name: items[name].isoformat() if name == "birth_date" else items[name]
        for name in BASIC_ITEMS
        if items.get(name)
    }
    answer = linkage_client_of(system).candidates_search(person)
    if not answer.ok:
        raise LinkageUnavailable(f"linkage answered {answer.status}: {_problem(answer.body)}")
    return list(answer.body.get("candidates", []))


def resident_change(
    *, system: BusinessSystem, record: ResidentRecord, items: Mapping[str, Any]
) -> Outcome:
    """A clerk's change of a resident: stored, then sent to linkage as an address change."""
    with transaction.atomic():
        for name, value in items.items():
            setattr(record, name, value)
        record.save()
        submission = _submission_create(record, Submission.Kind.CHANGE)
    return Outcome(record, submission_send(submission=submission, system=system, record=record))


def _problem(body: dict[str, Any]) -> str:
    errors = body.get("errors") or []
    details = "; ".join(f"{e.get('field', '')}: {e.get('message', '')}" for e in errors)
    return str(body.get("detail") or body.get("title") or "") + (f" ({details})" if details else "")


def submission_send(
    *, submission: Submission, system: BusinessSystem, record: ResidentRecord
) -> Submission:
    """S14, and S16 on success. Sent only while pending or unreachable; returns it updated."""
    if submission.status not in (Submission.Status.PENDING, Submission.Status.UNREACHABLE):
        return submission
    change = {"event_id": submission.event_id, **submission.body}
    if record.has_individual_number:
        change["individual_number"] = record.individual_number
    submission.attempts += 1
    submission.sent_at = timezone.now()
    try:
        answer = linkage_client_of(system).address_change_send(change)
    except LinkageUnavailable as error:
        submission.status = Submission.Status.UNREACHABLE
        submission.error = str(error)[:500]
        submission.http_status = None
    else:
        submission.http_status = answer.status
        submission.answer = answer.body
        if answer.ok:
            submission.status = Submission.Status.ACCEPTED
            submission.error = ""
            type(record).objects.filter(pk=record.pk).update(
                integrated_number=answer.body["integrated_number"]
            )
        elif answer.status >= 500 or answer.status == 429:
            submission.status = Submission.Status.UNREACHABLE
            submission.error = f"{answer.status} {_problem(answer.body)}"[:500]
        else:
            submission.status = Submission.Status.REFUSED
            submission.error = f"{answer.status} {_problem(answer.body)}"[:500]
    submission.save()
    return submission


def submission_resend(*, system: BusinessSystem, record: ResidentRecord) -> Submission | None:
    """Send the record's latest change again (same event_id); None if nothing is owed.
    A refused change is built again from the record (a new event_id): linkage refused that
    body, so the clerk fixes the record and sends it as it is now."""
    latest = (
        Submission.objects.filter(
            number_system=record.NUMBER_SYSTEM, address_number=record.address_number
        )
        .order_by("-pk")
        .first()
    )
    if latest is None or latest.status == Submission.Status.ACCEPTED:
        return None
    if latest.status == Submission.Status.REFUSED:
        with transaction.atomic():
            latest = _submission_create(record, latest.kind)
    return submission_send(submission=latest, system=system, record=record)


# --- Notices from linkage (S27 answer by notice, S120, S34) -------------------------------


def notice_receive(
    *, system: BusinessSystem, headers: Mapping[str, str], body: bytes, now: float | None = None
) -> ReceivedNotice:
    """Verify, deduplicate and apply one notice; NoticeRefused (changing nothing) otherwise."""
    try:
        signature_verify(secret=system.notice_secret, headers=headers, body=body, now=now)
    except SignatureRejected as rejected:
        raise NoticeRefused(401, rejected.code, rejected.message) from rejected
    try:
        document = json.loads(body)
        event_id, event, data = document["event_id"], document["event"], document["data"]
    except (ValueError, KeyError, TypeError) as error:
        raise NoticeRefused(400, "malformed", "the notice is not a notice document") from error
    if not isinstance(data, dict) or not isinstance(event_id, str) or not isinstance(event, str):
        raise NoticeRefused(400, "malformed", "the notice is not a notice document")
    if headers.get(EVENT_ID_HEADER) != event_id:
        raise NoticeRefused(400, "event_id_mismatch", "the event id header and body differ")
    individual_number = data.pop("individual_number", None)
    try:
        with transaction.atomic():
            outcome = _apply(system, event, data, individual_number)
            address_numbers = data.get("address_numbers") or [data.get("address_number")]
            return ReceivedNotice.objects.create(
                number_system=system.number_system,
                event_id=event_id,
                event=event,
                address_number=str(address_numbers[0] or "")[:15],
                data=data,
                outcome=outcome,
            )
    except IntegrityError as error:
        if ReceivedNotice.objects.filter(
            number_system=system.number_system, event_id=event_id
        ).exists():
            raise NoticeRefused(
                409, "duplicate_event", "this event id was already received"
            ) from error
        raise


def _apply(
    system: BusinessSystem, event: str, data: dict[str, Any], individual_number: str | None
) -> str:
    model = RECORD_MODELS[system.number_system]
    if event == NoticeEvent.INTEGRATED_NUMBER_ASSIGNED:
        updated = model.objects.filter(address_number=data.get("address_number", "")).update(
            integrated_number=data.get("integrated_number", "")
        )
        return "統合宛名番号を記録しました" if updated else "この宛名番号の住民はありません"
    if event == NoticeEvent.ADDRESS_UPDATED:
        person = data.get("person") or {}
        try:
            items = {name: person[name] for name in BASIC_ITEMS}
            items["birth_date"] = datetime.date.fromisoformat(items["birth_date"])
        except (KeyError, TypeError, ValueError) as error:
            raise NoticeRefused(
                400, "malformed", "address.updated lacks the basic items"
            ) from error
        count = model.objects.filter(address_number__in=data.get("address_numbers") or []).update(
            **items, updated_at=timezone.now()
        )
        return f"{count} 件の住民を履歴SEQ {data.get('history_seq')} の宛名情報に更新しました"
    if event in (NoticeEvent.PERSON_MERGED, NoticeEvent.PERSON_UNMERGED):
        # 名寄せ: this system's address numbers of the merged person now resolve to the
        # representative (merged), or to the merged person again (unmerged).
        merged = event == NoticeEvent.PERSON_MERGED
        number = data.get("integrated_number" if merged else "merged_integrated_number")
        address_numbers = data.get("address_numbers")
        if not isinstance(number, str) or not isinstance(address_numbers, list):
            raise NoticeRefused(400, "malformed", f"{event} lacks its integrated numbers")
        count = model.objects.filter(address_number__in=address_numbers).update(
            integrated_number=number, updated_at=timezone.now()
        )
        return f"{count} 件の住民を統合宛名番号 {number} に付け替えました"
    if event == NoticeEvent.SERIAL_ISSUED and system.number_system == "01":
        serial = data.get("processing_serial_number")
        if not isinstance(serial, str) or not serial or not isinstance(individual_number, str):
            raise NoticeRefused(400, "malformed", "the serial number notice is incomplete")
        _, created = pair_record(
            SerialNumberNotice,
            processing_serial_number=serial,
            individual_number=individual_number,
            index_key=simulator_index_key(),
        )
        if created:
            transaction.on_commit(serial_numbers_forward_soon)
        return "CS（住基ネット）に転送しました"
    raise NoticeRefused(400, "unknown_event", f"{event!r} is not a notice this system takes")


# --- The intermediate server's daily work through linkage (SPEC 11) ------------------------


def income_copy_register(*, system: BusinessSystem, record: IncomeRecord) -> dict[str, Any]:
    """税 registers its income record as a copy (副本) for other institutions' inquiries; the
    same record registered again is the same copy. Returns linkage's answer (the copy)."""
    answer = linkage_client_of(system).copy_register(
        {
            "event_id": f"copy-{record.address_number}-{record.fiscal_year}",
            "number_system": system.number_system,
            "address_number": record.address_number,
            "data_set": "local_tax_income",
            "record_key": f"{record.fiscal_year}-{record.address_number}",
            "items": {
                "fiscal_year": record.fiscal_year,
                "income_amount": record.income_amount,
                "tax_amount": record.tax_amount,
            },
            "valid_from": datetime.date(record.fiscal_year, 6, 1).isoformat(),
        }
    )
    if not answer.ok:
        raise LinkageUnavailable(f"linkage answered {answer.status}: {_problem(answer.body)}")
    record.copy_id = str(answer.body["copy_id"])
    record.save(update_fields=["copy_id"])
    return dict(answer.body)


def welfare_income_inquire(
    *, system: BusinessSystem, record: WelfareRecord, provider: str, procedure: str
) -> dict[str, Any]:
    """福祉 asks another institution for the resident's income instead of asking the resident
    for a certificate (情報照会). Returns linkage's answer (the inquiry, answered later)."""
    answer = linkage_client_of(system).inquiry_make(
        {
            "event_id": f"inquiry-{record.address_number}-{uuid.uuid4().hex[:12]}",
            "number_system": system.number_system,
            "address_number": record.address_number,
            "procedure": procedure,
            "data_set": "local_tax_income",
            "provider": provider,
        }
    )
    if not answer.ok:
        raise LinkageUnavailable(f"linkage answered {answer.status}: {_problem(answer.body)}")
    record.inquiry_id = str(answer.body["inquiry_id"])
    record.save(update_fields=["inquiry_id"])
    return dict(answer.body)


def exchange_state(*, system: BusinessSystem, record: ResidentRecord) -> dict[str, Any] | None:
    """The record's copy or last inquiry as linkage tells it now, or None (none, or linkage
    unreachable)."""
    client = linkage_client_of(system)
    copy_id = getattr(record, "copy_id", "")
    inquiry_id = getattr(record, "inquiry_id", "")
    try:
        if copy_id:
            answer = client.copy_get(copy_id)
        elif inquiry_id:
            answer = client.inquiry_get(inquiry_id)
        else:
            return None
    except LinkageUnavailable:
        return None
    return dict(answer.body) if answer.ok else None
