"""Every log line is masked: the rule, the record factory and every configured handler."""

from __future__ import annotations

import io
import logging
import sys
from typing import Any

from linkage.logging import IndividualNumberMaskFilter
from linkage.masking import mask_number_shaped


def test_twelve_digit_runs_are_masked_and_other_numbers_kept() -> None:
    assert mask_number_shaped("no 983205673214 here") == "no ************ here"
    assert mask_number_shaped("full width ９８３２０５６７３２１４") == "full width ************"
    assert mask_number_shaped("integrated 000000000000019") == "integrated 000000000000019"
    assert mask_number_shaped("eleven 98320567321") == "eleven 98320567321"


def test_the_filter_masks_arguments_and_tracebacks() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "saw %s", ("983205673214",), None)
    try:
        raise ValueError("bad 983205673214")
    except ValueError:
        record.exc_info = sys.exc_info()
    assert IndividualNumberMaskFilter().filter(record)
    formatted = logging.Formatter().format(record)
    assert "983205673214" not in formatted
    assert "saw ************" in formatted


def test_number_shapes_are_masked_as_printed_on_the_card() -> None:
    for written in ("9832 0567 3214", "9832-0567-3214", "９８３２－０５６７－３２１４"):
        assert mask_number_shaped(f"id {written}.") == "id ************."
    # As an access log carries a URL: percent-encoded, '+' for a space.
    for encoded in (
        "%EF%BC%99%EF%BC%98%EF%BC%93%EF%BC%92%EF%BC%90%EF%BC%95%EF%BC%96"
        "%EF%BC%97%EF%BC%93%EF%BC%92%EF%BC%91%EF%BC%94",
        "9832+0567+3214",
        "9832%200567%203214",
        "%39%38%33%32%30%35%36%37%33%32%31%34",
    ):
        assert mask_number_shaped(f"GET /persons/?name={encoded}&x=1") == (
            "GET /persons/?name=************&x=1"
        )
    assert mask_number_shaped("2026-12-01 21:42:41") == "2026-12-01 21:42:41"
    assert mask_number_shaped("integrated_number=000000000000019") == (
        "integrated_number=000000000000019"
    )
    assert mask_number_shaped("045-671-2121") == "045-671-2121"


def test_every_configured_handler_writes_masked_lines() -> None:
    """Each stream handler of every configured logger (ours, Django's django.server and
    request loggers), and a handler a library adds without our filter."""
    stray = logging.getLogger("a.library.of.its.own")
    stray.addHandler(logging.StreamHandler(io.StringIO()))  # no filter: the factory masks
    stray.propagate = False
    loggers = [logging.getLogger()] + [
        candidate
        for candidate in logging.Logger.manager.loggerDict.values()
        if isinstance(candidate, logging.Logger) and candidate.handlers
    ]
    tested = set()
    try:
        for logger in loggers:
            for handler in logger.handlers:
                if not isinstance(handler, logging.StreamHandler):
                    continue
                buffer = io.StringIO()
                previous = handler.setStream(buffer)
                try:
                    logger.error("GET /persons/?name=%s 200", "9832 0567 3214")
                finally:
                    handler.setStream(previous)
                written = buffer.getvalue()
                assert "************" in written, logger.name
                assert "0567" not in written, logger.name
                tested.add(logger.name)
    finally:
        stray.handlers.clear()
    assert {"root", "django", "django.server", "a.library.of.its.own"} <= tested


def test_error_reports_cleanse_the_number(rf: Any) -> None:
    """Django's error report (the DEBUG page and mail_admins use it) of a view that failed
    holding the number: the POST value and the frame variables are cleansed."""
    from django.views.debug import ExceptionReporter

    request = rf.post("/persons/by-individual-number", {"individual_number": "983205673214"})

    def failing(individual_number: str) -> None:
        raise ValueError("boom")

    try:
        failing(request.POST["individual_number"])
    except ValueError:
        reporter = ExceptionReporter(request, *sys.exc_info())
        text = reporter.get_traceback_text()
    assert "983205673214" not in text
    assert "boom" in text
