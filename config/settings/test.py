"""Test settings: SQLite by default, PostgreSQL when DATABASE_URL says so."""

from __future__ import annotations

import os

from .base import *  # noqa: F403
from .base import CELERY_BROKER_URL, DATABASES, VAR_DIR

DEBUG = False
SECRET_KEY = "test-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
FIELD_ENCRYPTION_KEYS = ["dGVzdC1vbmx5LWZpZWxkLWtleS0wMDAwMDAwMDAwMDA="]
BLIND_INDEX_KEY = "dGVzdC1vbmx5LWJsaW5kLWluZGV4LWtleS0wMDAwMDA="
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not Django's default in-memory database: the concurrency tests need real
    # connections from several threads, with WAL and the busy timeout in force.
    DATABASES["default"]["TEST"] = {
        "NAME": str(VAR_DIR / f"test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}.sqlite3"),
    }

# Tasks go to a real broker and run in real worker processes (tests/chain starts them).
# The filesystem transport by default; CI runs the suite again with Redis and RabbitMQ.
CELERY_TASK_ALWAYS_EAGER = False
CODE_REQUEST_BATCH_WINDOW = 0.3

if CELERY_BROKER_URL.startswith("filesystem://") and "CELERY_FILESYSTEM_DIR" not in os.environ:
    _test_queue = VAR_DIR / "test-broker"
    for _folder in ("queue", "processed"):
        (_test_queue / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_test_queue / "queue"),
        "data_folder_out": str(_test_queue / "queue"),
        "processed_folder": str(_test_queue / "processed"),
        "store_processed": False,
        "polling_interval": 0.1,
    }
