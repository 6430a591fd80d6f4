"""Test settings: SQLite by default, PostgreSQL when DATABASE_URL says so."""

from __future__ import annotations

import os

from .base import *  # noqa: F403
from .base import CELERY_BROKER_URL, DATABASES, VAR_DIR, filesystem_transport_options

DEBUG = False
SECRET_KEY = "test-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
FIELD_ENCRYPTION_KEYS = ["dGVzdC1vbmx5LWZpZWxkLWtleS0wMDAwMDAwMDAwMDA="]
BLIND_INDEX_KEY = "dGVzdC1vbmx5LWJsaW5kLWluZGV4LWtleS0wMDAwMDA="
AUDIT_LOG_KEY = "dGVzdC1vbmx5LWF1ZGl0LWxvZy1rZXktMDAwMDAwMDA="
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not Django's default in-memory database: the concurrency tests need real
    # connections from several threads, with WAL and the busy timeout in force.
    DATABASES["default"]["TEST"] = {
        "NAME": str(VAR_DIR / f"test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}.sqlite3"),
    }

# Tasks go to a real broker (never eager) and run in real worker processes (tests/chain).
# The filesystem transport by default; CI runs the suite again with Redis and RabbitMQ.
CODE_REQUEST_BATCH_WINDOW = 0.3

if CELERY_BROKER_URL.startswith("filesystem://") and "CELERY_FILESYSTEM_DIR" not in os.environ:
    CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_transport_options(VAR_DIR / "test-broker")

# The simulated national registry knows only the numbers a test enrols, so the error paths
# are rehearsed; tests of the open sandbox registry switch it on.
NATIONAL_REGISTRY_OPEN = False
