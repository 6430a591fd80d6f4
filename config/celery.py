"""The Celery application; settings come from Django's CELERY_* settings."""

from __future__ import annotations

import os

from celery import Celery

# The request id travels in every task message and onto the worker's log lines.
import primitives.request_context  # noqa: F401

from .broker import register as register_filesystem_transport

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
register_filesystem_transport()

app = Celery("linkage")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
