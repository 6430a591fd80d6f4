"""Production settings: refuse to start without the secrets; secure transport throughout."""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import (
    AUDIT_LOG_KEY,
    BLIND_INDEX_KEY,
    BLIND_INDEX_KEYS,
    CELERY_BEAT_SCHEDULE,
    CELERY_QUEUES_BY_STAGE,
    FIELD_ENCRYPTION_KEYS,
    INSTALLED_APPS,
    LOGGING,
    SANDBOX_APPS,
    SANDBOX_STAGES,
    SECRET_KEY,
    celery_queues,
    env_bool,
    log_formatter,
)

DEBUG = False

# One JSON object per log line unless the operator asks for plain text.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "json")
LOGGING["handlers"]["console"]["formatter"] = log_formatter(LOG_FORMAT)

# The sandbox is off unless asked for (and `check --deploy` errors when it is on).
SIMULATORS_ENABLED = env_bool("SIMULATORS_ENABLED", False)
if not SIMULATORS_ENABLED:
    INSTALLED_APPS = [app for app in INSTALLED_APPS if app not in SANDBOX_APPS]
    CELERY_BEAT_SCHEDULE = {
        name: entry
        for name, entry in CELERY_BEAT_SCHEDULE.items()
        if not str(entry["task"]).startswith(tuple(f"{app}." for app in SANDBOX_APPS))
    }
    # No worker listens for the sandbox's stages where there is no sandbox.
    CELERY_QUEUES_BY_STAGE = {
        stage: name for stage, name in CELERY_QUEUES_BY_STAGE.items() if stage not in SANDBOX_STAGES
    }
    CELERY_TASK_QUEUES = celery_queues(CELERY_QUEUES_BY_STAGE)

_missing = [
    name
    for name, value in (
        ("SECRET_KEY", SECRET_KEY),
        ("FIELD_ENCRYPTION_KEYS", FIELD_ENCRYPTION_KEYS),
        ("BLIND_INDEX_KEYS (or BLIND_INDEX_KEY)", BLIND_INDEX_KEYS or BLIND_INDEX_KEY),
        ("AUDIT_LOG_KEY", AUDIT_LOG_KEY),
        # The real peers: production never falls back to the simulators' addresses.
        ("INTERMEDIATE_URL", os.environ.get("INTERMEDIATE_URL", "")),
        ("GATEWAY_URL", os.environ.get("GATEWAY_URL", "")),
    )
    if not value
]
if _missing:
    raise ImproperlyConfigured(
        f"Production settings need these environment variables: {', '.join(_missing)}"
    )

# TLS is terminated by the reverse proxy in front of gunicorn; its header is believed only
# from TRUSTED_PROXIES (linkage.proxy removes it from any other caller).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
# Load balancers and the Prometheus scraper reach gunicorn directly over http.
SECURE_REDIRECT_EXEMPT = [r"^healthz", r"^metrics$"]
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
