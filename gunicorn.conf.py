"""gunicorn's configuration for production: `gunicorn config.wsgi` reads this file.

- It listens on a local address only (GUNICORN_BIND, default 127.0.0.1:8000): the reverse
  proxy in front (deploy/, TLS) is the only way in, and X-Forwarded-* headers are believed
  from TRUSTED_PROXIES only, here (forwarded_allow_ips) and in Django (linkage.proxy).
- Its access and error logs pass the same individual-number mask as every other log line:
  the masking log record factory (linkage.logging) is installed here, in the master, before
  any worker forks, so it holds whatever handlers and files (--access-logfile) are chosen.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from linkage.logging import IndividualNumberMaskFilter, JsonFormatter, install

install()

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").split(",")
workers = int(os.environ.get("GUNICORN_WORKERS", "4"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
forwarded_allow_ips = os.environ.get("TRUSTED_PROXIES", "127.0.0.1,::1")
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# Request lines are cut short as gunicorn allows: a URL is never the place for data.
limit_request_line = 4094
# The access log names the path, never the query string (a search's name or birth date), and
# the request id linkage answered, the key to the request's other lines.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms request_id=%({x-request-id}o)s'
# One JSON object per line, as the application's own lines (LOG_FORMAT, production: json).
_log_format = os.environ.get("LOG_FORMAT", "json")


def _mask_handlers(log: Any) -> None:
    """The mask's filter on gunicorn's own handlers too (the factory masks first), and the
    JSON formatter when the lines are JSON."""
    for logger in (log.access_log, log.error_log):
        for handler in logger.handlers:
            if not any(isinstance(f, IndividualNumberMaskFilter) for f in handler.filters):
                handler.addFilter(IndividualNumberMaskFilter())
            if _log_format == "json" and not isinstance(handler.formatter, JsonFormatter):
                handler.setFormatter(JsonFormatter())


def on_starting(server: Any) -> None:
    """/metrics sums every worker through PROMETHEUS_MULTIPROC_DIR (linkage.metrics): it
    starts empty, so figures of an earlier run are not counted again."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        Path(folder).mkdir(parents=True, exist_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def when_ready(server: Any) -> None:
    _mask_handlers(server.log)


def post_fork(server: Any, worker: Any) -> None:
    _mask_handlers(worker.log)
