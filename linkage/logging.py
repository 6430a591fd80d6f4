"""Every log line of every process passes the individual-number mask.

Code never logs the number on purpose, but a line can still pick one up from a URL in an
access log, a third-party message or an exception. The mask is applied where each record is
made (`install`: a log record factory, so no handler, Django's own `django.server` and
`mail_admins` included, and no library's handler can bypass it), and again by a filter on
our handlers. `configure` is Django's LOGGING_CONFIG (web, workers, beat, commands);
gunicorn.conf.py installs it in gunicorn's processes for the access and error logs.
"""

from __future__ import annotations

import logging
import logging.config
from typing import Any

from .masking import mask_number_shaped

_base_factory = logging.getLogRecordFactory()


def _masked(record: logging.LogRecord) -> logging.LogRecord:
    """The record with its message, exception and stack text masked (formatted once here)."""
    try:
        message = record.getMessage()
    except Exception:  # a malformed call (wrong % args) is logging's own error to report
        return record
    masked = mask_number_shaped(message)
    if masked != message or record.args:
        record.msg, record.args = masked, None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = mask_number_shaped(record.exc_text)
    if record.stack_info:
        record.stack_info = mask_number_shaped(record.stack_info)
    return record


def _masking_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    return _masked(_base_factory(*args, **kwargs))


def install() -> None:
    """Mask every record this process makes from now on (idempotent)."""
    if logging.getLogRecordFactory() is not _masking_factory:
        logging.setLogRecordFactory(_masking_factory)


def configure(config: dict[str, Any]) -> None:
    """Django's LOGGING_CONFIG: the mask first, then the settings' LOGGING."""
    install()
    logging.config.dictConfig(config)


class IndividualNumberMaskFilter(logging.Filter):
    """The mask again on each of our handlers (records made before `install`, or by a
    factory another library set)."""

    def filter(self, record: logging.LogRecord) -> bool:
        _masked(record)
        return True
