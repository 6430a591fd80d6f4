"""Another vendor's intermediate server, reached over real HTTP, answering in ways the
simulated one never does: fields added, fields missing, a person not asked about. Linkage
reads what it needs and leaves the rest: a field added is ignored, an answer without what it
needs is a peer that could not answer (PeerUnavailable: the task retries), never a KeyError
or a TypeError that fails every run, and the message names the field, never a value."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from linkage.clients import intermediate
from primitives.http import PeerUnavailable
from tests.conftest import QuietHandler, Redirecting, http_served

NUMBER = "983205673214"  # what an entry carries: never in a message
ENTRY = {
    "integrated_number": "000000000000019",
    "processing_serial_number": "P0000001",
    "individual_number": NUMBER,
}


class Vendor:
    """The answers the server gives, by path (without the query string)."""

    def __init__(self) -> None:
        self.answers: dict[str, Any] = {}


@pytest.fixture
def vendor(settings: Any) -> Iterator[Vendor]:
    served = Vendor()

    class Handler(QuietHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            answer = served.answers[self.path.split("?")[0]]
            body = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

    with http_served(Handler) as url:
        settings.PEER_URLS = {**settings.PEER_URLS, "intermediate": f"{url}/im"}
        yield served


def unavailable(call: Any, *fields: str) -> str:
    with pytest.raises(PeerUnavailable) as raised:
        call()
    message = str(raised.value)
    assert "malformed answer" in message
    for field in fields:
        assert field in message
    assert NUMBER not in message
    return message


def test_a_file_entry_with_a_field_added_is_read(vendor: Vendor) -> None:
    vendor.answers["/im/code-acquisition-files/R1"] = {
        "entries": [{**ENTRY, "issued_at": "2026-12-07T10:00:00+09:00"}],
        "vendor_extension": {"x": 1},
    }
    (entry,) = intermediate.code_acquisition_file_fetch(reception_number="R1")
    assert (entry.integrated_number, entry.processing_serial_number) == (
        "000000000000019",
        "P0000001",
    )
    assert entry.individual_number == NUMBER


@pytest.mark.parametrize(
    ("answer", "named"),
    [
        (
            {"entries": [{**ENTRY, "processing_serial_number": None}]},
            "entries[0].`processing_serial_number`",
        ),
        (
            {"entries": [{k: v for k, v in ENTRY.items() if k != "integrated_number"}]},
            "entries[0].`integrated_number`",
        ),
        (
            {"entries": [ENTRY, {**ENTRY, "individual_number": 983205673214}]},
            "entries[1].`individual_number`",
        ),
        ({"entries": {"0": ENTRY}}, "`entries` is not a list"),
        ({}, "`entries` is not a list"),
    ],
)
def test_a_file_without_what_linkage_needs_is_a_peer_that_could_not_answer(
    vendor: Vendor, answer: dict[str, Any], named: str
) -> None:
    vendor.answers["/im/code-acquisition-files/R1"] = answer
    unavailable(lambda: intermediate.code_acquisition_file_fetch(reception_number="R1"), named)


def test_an_answer_nested_deeper_than_the_decoder_goes_is_one_without_what_is_needed(
    vendor: Vendor,
) -> None:
    deep = b'{"entries": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    vendor.answers["/im/code-acquisition-files/R1"] = deep
    unavailable(
        lambda: intermediate.code_acquisition_file_fetch(reception_number="R1"),
        "`entries` is not a list",
    )


def test_a_file_request_answered_without_its_reception_number(vendor: Vendor) -> None:
    vendor.answers["/im/code-acquisition-files"] = {"reception": "R1"}
    unavailable(
        lambda: intermediate.code_acquisition_file_request(
            integrated_numbers=["000000000000019"], idempotency_key="k"
        ),
        "`reception_number`",
    )


def test_a_status_about_a_person_not_asked_about_is_left_out(
    vendor: Vendor, caplog: pytest.LogCaptureFixture
) -> None:
    vendor.answers["/im/code-status-inquiries"] = {
        "results": [
            {"integrated_number": "000000000000019", "status": "acquired", "code_kind": "x"},
            {"integrated_number": "000000000000027", "status": "error", "reason": 5},
            {"integrated_number": "000000000000035", "status": "acquired"},
        ]
    }
    results = intermediate.code_status_inquire(
        integrated_numbers=["000000000000019", "000000000000027"]
    )
    assert results == [
        {"integrated_number": "000000000000019", "status": "acquired", "reason": ""},
        {"integrated_number": "000000000000027", "status": "error", "reason": ""},
    ]
    assert "000000000000035, not asked about: left out" in caplog.text


@pytest.mark.parametrize(
    ("answer", "named"),
    [
        ({"results": [{"integrated_number": "000000000000019"}]}, "results[0].`status`"),
        ({"results": [{"status": "acquired"}]}, "results[0].`integrated_number`"),
        ({"results": "acquired"}, "`results` is not a list"),
    ],
)
def test_a_status_answer_without_what_linkage_needs(
    vendor: Vendor, answer: dict[str, Any], named: str
) -> None:
    vendor.answers["/im/code-status-inquiries"] = answer
    unavailable(
        lambda: intermediate.code_status_inquire(integrated_numbers=["000000000000019"]), named
    )


def test_exchange_records_that_are_not_a_list(vendor: Vendor) -> None:
    vendor.answers["/im/exchange-records"] = {"records": {"count": 0}}
    unavailable(
        lambda: intermediate.exchange_records_read(integrated_number="000000000000019"),
        "`records` is not a list",
    )
    vendor.answers["/im/exchange-records"] = {"records": [{"role": "provider", "extra": 1}]}
    assert intermediate.exchange_records_read(integrated_number="000000000000019") == [
        {"role": "provider", "extra": 1}
    ]


def test_an_inquiry_answered_with_records_that_are_not_a_list(vendor: Vendor) -> None:
    message = intermediate.InquiryMessage(
        inquiry_id="I1",
        integrated_number="000000000000019",
        procedure="児童手当",
        data_set="income",
        provider="131016",
    )
    vendor.answers["/im/inquiries"] = {"results": [{"status": "answered", "records": "none"}]}
    unavailable(lambda: intermediate.inquiries_send([message]), "results[0].`records`")
    vendor.answers["/im/inquiries"] = {
        "results": [{"status": "answered", "records": [{"income": 1}], "answered_by": "x"}]
    }
    (answered,) = intermediate.inquiries_send([message])
    assert answered.records == [{"income": 1}]


def test_a_redirect_is_not_an_answer(redirecting: Redirecting, settings: Any) -> None:
    """An intermediate server configured at http:// behind a proxy that redirects to https://:
    the file's release did not reach it (it would keep the file's individual numbers), so the
    call fails as a peer that could not answer, and the task retries it."""
    settings.PEER_URLS = {**settings.PEER_URLS, "intermediate": f"{redirecting.url}/im"}
    with pytest.raises(PeerUnavailable, match="302 redirect, not followed"):
        intermediate.code_acquisition_file_release(reception_number="R1")
    assert redirecting.hits == 1
