"""Handing work to Celery after the transaction that created it commits (the receivers in
linkage/signals.py call it with the task itself)."""

from __future__ import annotations

from typing import Any

from celery import Task
from django.db import transaction

from ..guards import broker


def enqueue(task: Task, *args: Any, countdown: float = 0) -> None:
    """Send a task after commit. A broker that is down delays the work, it does not fail the
    caller: the row is already committed and the sweep will enqueue it again. After a failure
    the process sends nothing for a few seconds (linkage.guards): a hung broker would hold
    every request for its timeout."""

    def send() -> None:
        broker.call(
            lambda: task.apply_async(args=args, countdown=countdown or None),
            fallback=None,
            warning=f"could not enqueue {task.name}; the sweep will retry it",
        )

    transaction.on_commit(send)
