"""Every log line of every process passes the individual-number mask.

Code never logs the number on purpose, but a line can still pick one up from a URL in an
access log, a third-party message or an exception. The mask is applied where each record is
made (`install`: a log record factory, so no handler, Django's own `django.server` and
`mail_admins` included, and no library's handler can bypass it), and again by a filter on
our handlers. `configure` is Django's LOGGING_CONFIG (web, workers, beat, commands);
gunicorn.conf.py installs it in gunicorn's processes for the access and error logs.
"""

from __future__ import annotations

import datetime
import logging
import logging.config
import os
import sys
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

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


def _service() -> str:
    """Which process writes (LOG_SERVICE, as the systemd units set it, else from argv)."""
    named = os.environ.get("LOG_SERVICE")
    if named:
        return named
    words = [os.path.basename(word) for word in sys.argv[:3]]
    if words and words[0] == "__main__.py":  # `python -m <package>`
        words[0] = os.path.basename(os.path.dirname(sys.argv[0]))
    if "celery" in " ".join(sys.argv[:3]):  # `celery -A config worker`, `python -m celery`
        return "beat" if "beat" in words else "worker"
    if words and words[0].startswith("gunicorn"):
        return "web"
    if len(words) > 1 and words[0] == "manage.py":
        return words[1]
    return words[0] if words else "python"


class JsonFormatter(_JsonFormatter):
    """One JSON object per line (LOG_FORMAT=json): time, level, logger, message, the request
    id and actor (primitives.request_context), the task, the process, and whatever `extra`
    a call adds. The whole line passes the mask, so no field can carry a number."""

    service = _service()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("json_ensure_ascii", False)
        kwargs.setdefault(
            "reserved_attrs", [*RESERVED_ATTRS, "taskName", "request_id", "actor", "task"]
        )
        super().__init__(*args, **kwargs)

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        log_data["time"] = datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
            timespec="milliseconds"
        )
        log_data["level"] = record.levelname
        log_data["logger"] = record.name
        log_data["message"] = record.getMessage()
        for name in ("request_id", "actor", "task"):
            value = getattr(record, name, "")
            if value:
                log_data[name] = value
        log_data["service"] = self.service
        log_data["pid"] = record.process
        super().add_fields(log_data, record, message_dict)
        log_data.pop("msg", None)

    def format(self, record: logging.LogRecord) -> str:
        return mask_number_shaped(super().format(record))
