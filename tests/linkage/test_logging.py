"""The log filter masks 12-digit runs, whatever the logger and however the message is built."""

from __future__ import annotations

import logging
import sys

from linkage.logging import IndividualNumberMaskFilter, mask_twelve_digit_runs


def test_twelve_digit_runs_are_masked_and_other_numbers_kept() -> None:
    assert mask_twelve_digit_runs("no 983205673214 here") == "no ************ here"
    assert (
        mask_twelve_digit_runs("full width ９８３２０５６７３２１４") == "full width ************"
    )
    assert mask_twelve_digit_runs("integrated 000000000000019") == "integrated 000000000000019"
    assert mask_twelve_digit_runs("eleven 98320567321") == "eleven 98320567321"


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
