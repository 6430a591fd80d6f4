"""Development and demo settings: fixed development keys, never to be used for real data."""

from __future__ import annotations

import os

from .base import *  # noqa: F403
from .base import env_bool, env_list

DEBUG = env_bool("DEBUG", True)
SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-secret-key-not-for-production-use-0123456789")
FIELD_ENCRYPTION_KEYS = env_list(
    "FIELD_ENCRYPTION_KEYS",
    "ZGV2LW9ubHktZmllbGQta2V5LW5vdC1mb3ItcmVhbC0=",
)
BLIND_INDEX_KEY = os.environ.get("BLIND_INDEX_KEY", "ZGV2LW9ubHktYmxpbmQtaW5kZXgta2V5LTAwMDAwMDA=")
AUDIT_LOG_KEY = os.environ.get("AUDIT_LOG_KEY", "ZGV2LW9ubHktYXVkaXQtbG9nLWtleS1ub3QtcmVhbCE=")
