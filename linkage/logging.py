"""A logging filter that masks anything shaped like an individual number.

Defence in depth: code never logs the number on purpose, but a log line can still pick one up
from a third-party message or an exception. Every 12-digit run standing alone is masked.
"""

from __future__ import annotations

import logging
import re

_TWELVE_DIGITS = re.compile(r"(?<![0-9０-９])[0-9０-９]{12}(?![0-9０-９])")
MASK = "************"


def mask_twelve_digit_runs(text: str) -> str:
    return _TWELVE_DIGITS.sub(MASK, text)


class IndividualNumberMaskFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_twelve_digit_runs(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_twelve_digit_runs(record.exc_text)
        if masked != message:
            record.msg = masked
            record.args = None
        return True
