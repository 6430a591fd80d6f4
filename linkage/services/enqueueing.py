"""Handing work to Celery after the transaction that created it commits (the receivers in
linkage/signals.py call it with the task itself)."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task
from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue(task: Task, *args: Any, countdown: float = 0) -> None:
    """Send a task after commit. A broker that is down delays the work, it does not fail the
    caller: the row is already committed and the sweep will enqueue it again."""

    def send() -> None:
        try:
            task.apply_async(args=args, countdown=countdown or None)
        except Exception:
            logger.warning(
                "could not enqueue %s%s; the sweep will retry it", task.name, args, exc_info=True
            )

    transaction.on_commit(send)
