"""The request unit's and the confirmation unit's client of the intermediate server (中間サーバー)
and of the receivers of S34 (住基 or 住基GW)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from django.conf import settings

from config.sandbox import institution_key
from primitives.http import (
    PeerAnswer,
    PeerUnavailable,
    answer_objects,
    batch_results,
    is_refused,
    peer_call,
)

logger = logging.getLogger(__name__)


class FileNotReady(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"code acquisition file not ready; retry after {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class FileEntry:
    integrated_number: str
    processing_serial_number: str
    individual_number: str

    def __repr__(self) -> str:  # never print the individual number
        return f"FileEntry({self.integrated_number}, {self.processing_serial_number})"


# Reading an answer: what linkage needs must be there, with the right type, or the answer is
# one the peer could not give (PeerUnavailable: the task retries, as for a peer that is down);
# what it does not know (a field another vendor's server adds) is left alone. The messages
# name fields, never values: a file's entries carry individual numbers.


def _malformed(url: str, what: str) -> PeerUnavailable:
    return PeerUnavailable(f"{url}: malformed answer: {what}")


def _objects(answer: PeerAnswer, key: str, url: str) -> list[dict[str, Any]]:
    return answer_objects(answer.body.get(key), url, f"`{key}`")


def _text(item: dict[str, Any], name: str, url: str, where: str) -> str:
    value = item.get(name)
    if not isinstance(value, str) or not value:
        raise _malformed(url, f"{where}`{name}` is missing or not a text")
    return value


def _url(peer: str, path: str) -> str:
    return f"{settings.PEER_URLS[peer].rstrip('/')}/{path}"


def _headers(peer: str) -> dict[str, str]:
    """How linkage authenticates to `peer`: its configured key, or the sandbox's."""
    key = settings.PEER_KEYS.get(peer, "")
    if not key and settings.SIMULATORS_ENABLED:
        key = institution_key(settings.LG_CODE)
    return {"Authorization": f"Bearer {key}"} if key else {}


def _call(method: str, peer: str, path: str, payload: dict[str, Any] | None = None) -> PeerAnswer:
    return peer_call(
        method, _url(peer, path), payload, timeout=settings.PEER_TIMEOUT, headers=_headers(peer)
    )


def _post(peer: str, path: str, payload: dict[str, Any]) -> PeerAnswer:
    return _call("POST", peer, path, payload)


@dataclass(frozen=True)
class SerialRequest:
    integrated_number: str
    individual_number: str
    idempotency_key: str

    def __repr__(self) -> str:  # never print the individual number
        return f"SerialRequest({self.integrated_number}, {self.idempotency_key})"


@dataclass(frozen=True)
class ItemRefused:
    """One item of a batch the peer did not take, with its reason (the others went on)."""

    code: str
    detail: str


def _results(answer: PeerAnswer, count: int, url: str) -> list[ItemRefused | None]:
    """Per item of a batch: None when the peer took it, or why not."""
    return [
        ItemRefused(str(result.get("code", "")), str(result.get("detail", "")))
        if is_refused(result)
        else None
        for result in batch_results(answer, count, url)
    ]


def serial_number_requests(requests: Sequence[SerialRequest]) -> list[ItemRefused | None]:
    """S28-S29 for a batch of persons, in one request."""
    answer = _post(
        "intermediate",
        "serial-number-requests",
        {
            "lg_code": settings.LG_CODE,
            "requests": [
                {
                    "integrated_number": request.integrated_number,
                    "individual_number": request.individual_number,
                    "idempotency_key": request.idempotency_key,
                }
                for request in requests
            ],
        },
    )
    return _results(answer, len(requests), _url("intermediate", "serial-number-requests"))


def code_acquisition_file_request(*, integrated_numbers: list[str], idempotency_key: str) -> str:
    """S30-S31: returns the reception number."""
    answer = _post(
        "intermediate",
        "code-acquisition-files",
        {
            "lg_code": settings.LG_CODE,
            "integrated_numbers": integrated_numbers,
            "idempotency_key": idempotency_key,
        },
    )
    return _text(
        answer.body, "reception_number", _url("intermediate", "code-acquisition-files"), ""
    )


def code_acquisition_file_fetch(*, reception_number: str) -> list[FileEntry]:
    """S32-S33: the file's entries, or FileNotReady while the serial numbers are pending."""
    path = f"code-acquisition-files/{reception_number}"
    answer = _call("GET", "intermediate", path)
    if answer.status == 202:
        raise FileNotReady(answer.retry_after)
    url = _url("intermediate", path)
    return [
        FileEntry(
            **{
                field.name: _text(entry, field.name, url, f"entries[{n}].")
                for field in fields(FileEntry)
            }
        )
        for n, entry in enumerate(_objects(answer, "entries", url))
    ]


def code_acquisition_file_release(*, reception_number: str) -> None:
    """After S34 for every entry: the file is done with, and the intermediate server drops
    its individual numbers (a later fetch is refused)."""
    _call("DELETE", "intermediate", f"code-acquisition-files/{reception_number}")


def serial_numbers_send(entries: Sequence[FileEntry]) -> list[ItemRefused | None]:
    """S34, second embodiment: the pairs to the 住基GW server in one request (the first
    embodiment goes as a notice per person to 住基)."""
    answer = _post(
        "gateway",
        "entries",
        {
            "entries": [
                {
                    "processing_serial_number": entry.processing_serial_number,
                    "individual_number": entry.individual_number,
                }
                for entry in entries
            ]
        },
    )
    return _results(answer, len(entries), _url("gateway", "entries"))


def code_status_inquire(*, integrated_numbers: list[str]) -> list[dict[str, str]]:
    """Confirmation (42): acquired / pending / error (with reason) / unknown per person asked
    about (`integrated_number`, `status`, `reason`). A result about a person not asked about
    is left out, with a warning."""
    answer = _post(
        "intermediate",
        "code-status-inquiries",
        {"lg_code": settings.LG_CODE, "integrated_numbers": integrated_numbers},
    )
    url = _url("intermediate", "code-status-inquiries")
    asked = set(integrated_numbers)
    results = []
    for n, result in enumerate(_objects(answer, "results", url)):
        number = _text(result, "integrated_number", url, f"results[{n}].")
        status = _text(result, "status", url, f"results[{n}].")
        if number not in asked:
            logger.warning("%s answered about %s, not asked about: left out", url, number)
            continue
        reason = result.get("reason")
        results.append(
            {
                "integrated_number": number,
                "status": status,
                "reason": reason if isinstance(reason, str) else "",
            }
        )
    return results


@dataclass(frozen=True)
class CopyMessage:
    """One copy's newest revision as the intermediate server takes it (DBM): the person by
    integrated number only, never by individual number."""

    copy_id: str
    revision: int
    operation: str  # register | withdraw
    integrated_number: str
    data_set: str
    record_key: str
    items: dict[str, Any]
    valid_from: str
    valid_to: str | None


def copies_send(messages: Sequence[CopyMessage]) -> list[ItemRefused | None]:
    """副本登録 for a batch of copies, in one request."""
    answer = _post(
        "intermediate",
        "copies",
        {
            "lg_code": settings.LG_CODE,
            "copies": [
                {
                    "copy_id": message.copy_id,
                    "revision": message.revision,
                    "operation": message.operation,
                    "integrated_number": message.integrated_number,
                    "data_set": message.data_set,
                    "record_key": message.record_key,
                    "items": message.items,
                    "valid_from": message.valid_from,
                    "valid_to": message.valid_to,
                }
                for message in messages
            ],
        },
    )
    return _results(answer, len(messages), _url("intermediate", "copies"))


@dataclass(frozen=True)
class InquiryMessage:
    """One inquiry as the intermediate server takes it (SKI): the person by integrated number."""

    inquiry_id: str
    integrated_number: str
    procedure: str
    data_set: str
    provider: str


@dataclass(frozen=True)
class InquiryAnswer:
    """The intermediate server's answer to one inquiry: the provider's records, or why the
    inquiry was refused (`refused_by_network`: the network or the provider refused it; else
    the intermediate server itself did)."""

    records: list[dict[str, Any]]
    refusal: ItemRefused | None = None
    refused_by_network: bool = False

    @property
    def in_progress(self) -> bool:
        """Another request of ours is being answered: nothing is known yet, ask again later."""
        return self.refusal is not None and self.refusal.code == "in_progress"


def inquiries_send(messages: Sequence[InquiryMessage]) -> list[InquiryAnswer]:
    """情報照会 for a batch of inquiries, in one request."""
    url = _url("intermediate", "inquiries")
    answer = _post(
        "intermediate",
        "inquiries",
        {
            "lg_code": settings.LG_CODE,
            "inquiries": [
                {
                    "inquiry_id": message.inquiry_id,
                    "integrated_number": message.integrated_number,
                    "procedure": message.procedure,
                    "data_set": message.data_set,
                    "provider": message.provider,
                }
                for message in messages
            ],
        },
    )
    answers = []
    for n, result in enumerate(batch_results(answer, len(messages), url)):
        if result.get("status") == "answered":
            records = answer_objects(result.get("records") or [], url, f"results[{n}].`records`")
            answers.append(InquiryAnswer(records=records))
            continue
        refusal = ItemRefused(str(result.get("code", "")), str(result.get("detail", "")))
        # The intermediate server refuses an item itself (`refused` in the batch) or passes
        # on the network's refusal (`refused` too, with the network's code).
        answers.append(
            InquiryAnswer(
                records=[],
                refusal=refusal,
                refused_by_network=refusal.code in NETWORK_REFUSALS,
            )
        )
    return answers


# Refusals the network or the provider gives: the inquiry was asked and is answered "no".
NETWORK_REFUSALS = frozenset({"not_permitted", "unknown_person"})


def exchange_records_read(*, integrated_number: str) -> list[dict[str, Any]]:
    """情報提供等記録 of one person, as the intermediate server keeps them (TKM)."""
    path = f"exchange-records?lg_code={settings.LG_CODE}&integrated_number={integrated_number}"
    answer = _call("GET", "intermediate", path)
    return _objects(answer, "records", _url("intermediate", path))
