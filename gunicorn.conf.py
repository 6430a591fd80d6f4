"""gunicorn's configuration for production: `gunicorn config.wsgi` reads this file.

- It listens on a local address only (GUNICORN_BIND, default 127.0.0.1:8000): the reverse
  proxy in front (deploy/, TLS) is the only way in, and X-Forwarded-* headers are believed
  from TRUSTED_PROXIES only, here (forwarded_allow_ips) and in Django (linkage.proxy).
- Its access and error logs pass the same individual-number mask as every other log line
  (linkage.logging): installed here, in the master, before any worker forks.
"""

from __future__ import annotations

import os

from linkage.logging import install

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

logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask": {"()": "linkage.logging.IndividualNumberMaskFilter"}},
    "formatters": {
        "generic": {"format": "%(asctime)s [%(process)d] [%(levelname)s] %(message)s"},
        "access": {"format": "%(message)s"},
    },
    "handlers": {
        "error_console": {
            "class": "logging.StreamHandler",
            "formatter": "generic",
            "filters": ["mask"],
            "stream": "ext://sys.stderr",
        },
        "access_console": {
            "class": "logging.StreamHandler",
            "formatter": "access",
            "filters": ["mask"],
            "stream": "ext://sys.stdout",
        },
    },
    # gunicorn merges this over its defaults key by key: the root logger is named here too.
    "root": {"handlers": ["error_console"], "level": "INFO"},
    "loggers": {
        "gunicorn.error": {
            "handlers": ["error_console"],
            "level": loglevel.upper(),
            "propagate": False,
        },
        "gunicorn.access": {"handlers": ["access_console"], "level": "INFO", "propagate": False},
    },
}
