"""The request id and the structured log lines: one JSON object per line, the request id from
the proxy or new, answered in X-Request-ID, the actor, and the mask over every field."""

from __future__ import annotations

import io
import json
import logging
import random
from typing import Any

import pytest
from django.test import Client

from linkage.logging import JsonFormatter
from linkage.masking import is_number_shaped
from primitives import request_context as request_context_module
from primitives.request_context import RequestContextFilter, request_context, request_id_accept
from tests.conftest import post_change
from tests.factories import KeyedClient, address_change_body


def json_line(logger: str, message: str, *args: Any, **extra: Any) -> dict[str, Any]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    log = logging.getLogger(logger)
    log.addHandler(handler)
    try:
        log.warning(message, *args, extra=extra)
    finally:
        log.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    parsed: dict[str, Any] = json.loads(lines[0])
    return parsed


def test_a_line_is_one_json_object_with_the_request_context() -> None:
    with request_context("0123456789abcdef", actor="user:clerk"):
        line = json_line("linkage.test", "changed %s", "住所", outcome="ok")
    assert line["message"] == "changed 住所"
    assert line["level"] == "WARNING"
    assert line["logger"] == "linkage.test"
    assert line["request_id"] == "0123456789abcdef"
    assert line["actor"] == "user:clerk"
    assert line["outcome"] == "ok"
    assert line["time"].endswith("+00:00")
    assert "msg" not in line and "args" not in line


def test_every_field_passes_the_mask() -> None:
    line = json_line("linkage.test", "saw %s", "9832 0567 3214", detail="number 983205673214")
    assert "0567" not in json.dumps(line, ensure_ascii=False)
    assert line["detail"] == "number ************"


def test_an_exception_is_one_field_of_the_line() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("linkage.test.exception")
    log.addHandler(handler)
    try:
        raise ValueError("bad 983205673214")
    except ValueError:
        log.exception("failed")
    finally:
        log.removeHandler(handler)
    (line,) = stream.getvalue().splitlines()
    parsed = json.loads(line)
    assert "ValueError: bad ************" in parsed["exc_info"]


def test_an_offered_request_id_is_kept_only_if_it_is_one() -> None:
    assert (
        request_id_accept("5d2c8c1e0a3b4f6e9d7c2b1a0f9e8d7c") == "5d2c8c1e0a3b4f6e9d7c2b1a0f9e8d7c"
    )
    for offered in (None, "", "short", "x" * 65, "983205673214 <script>", "a/b/c/d/e/f/g"):
        replaced = request_id_accept(offered)
        assert replaced != offered
        assert len(replaced) == 32


def test_no_request_id_looks_like_an_individual_number() -> None:
    """The log mask hides twelve digits together wherever they stand, so an id holding such a
    run would be hidden on every line that names it: one in about eighty random hex ids did
    (nginx's $request_id, uuid4). None is made, and one offered is replaced."""
    made = [request_id_accept(None) for _ in range(20_000)]
    assert not [made_id for made_id in made if is_number_shaped(made_id)]
    for offered in (
        "ab123456789012cdef0123456789abcd",  # twelve digits between hex letters
        "123456789012abcdef0123456789abcd",
        "5d2c8c1e-0a3b-4f6e-9d7c-123456789012",  # a UUID whose last group is all digits
        "5d2c8c1e-0a3b-4f6e-1234-56789012abcd",  # twelve digits across a hyphen
    ):
        assert is_number_shaped(offered)
        replaced = request_id_accept(offered)
        assert replaced != offered and not is_number_shaped(replaced)
    kept = "ab12345678901cdef0123456789abcde"  # eleven digits: not number-shaped, kept
    assert request_id_accept(kept) == kept


def test_the_ids_rule_is_the_log_masks_rule_within_the_ids_alphabet() -> None:
    """Every id the proxy may send (digits, letters, '.', '_' and '-') is refused exactly when
    the log mask would hide it: else an id could still be masked, or one be refused for
    nothing."""
    rng = random.Random(2026)
    alphabet = "0123456789" * 6 + "-" * 3 + "._ab"
    for _ in range(50_000):
        candidate = "".join(rng.choice(alphabet) for _ in range(rng.randint(8, 40)))
        refused = request_id_accept(candidate) != candidate
        if request_context_module._ACCEPTED_ID.fullmatch(candidate):
            assert refused == is_number_shaped(candidate), candidate


@pytest.mark.django_db
def test_each_request_answers_its_id_and_logs_one_line(
    jyuki: KeyedClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="linkage.request"):
        answer = post_change(
            jyuki, address_change_body(), HTTP_X_REQUEST_ID="vendor-request-000123"
        )
    assert answer.status_code == 201
    assert answer["X-Request-ID"] == "vendor-request-000123"
    (record,) = [r for r in caplog.records if r.name == "linkage.request"]
    assert record.request_id == "vendor-request-000123"  # type: ignore[attr-defined]
    assert record.actor == f"client#{jyuki.client.pk} (01)"  # type: ignore[attr-defined]
    assert record.status == 201  # type: ignore[attr-defined]
    assert record.outcome == "ok"  # type: ignore[attr-defined]
    assert record.view.endswith("api-address-changes")  # type: ignore[attr-defined]

    unnamed = Client().get("/healthz/live")
    assert len(unnamed["X-Request-ID"]) == 32


@pytest.mark.django_db
def test_the_query_string_is_never_logged(clerk: Any, caplog: pytest.LogCaptureFixture) -> None:
    browser = Client()
    browser.force_login(clerk)
    with caplog.at_level(logging.INFO, logger="linkage.request"):
        assert browser.get("/persons/", {"name": "山田太郎"}).status_code == 200
    (record,) = [r for r in caplog.records if r.name == "linkage.request"]
    assert record.path == "/persons/"  # type: ignore[attr-defined]
    assert "山田" not in record.getMessage()
    assert record.actor == "user:clerk"  # type: ignore[attr-defined]
