"""The request id and the actor of the work in hand, carried from an HTTP request into the
Celery tasks it causes, and onto every log line made meanwhile.

A request keeps the `X-Request-ID` the reverse proxy gave it (nginx's `$request_id`), or gets
a new one; the id travels in the headers of every task message published while the request
is handled (`before_task_publish`), and the worker takes it up before the task runs
(`task_prerun`), so a clerk's change and the code request it starts share one id in the
logs of the web process and of the worker. A task with no request behind it (beat's sweeps)
is its own origin: its id is the task's id.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any

from celery import signals

from .numbers import is_number_shaped

REQUEST_ID_HEADER = "X-Request-ID"
_TASK_HEADER = "linkage_request"
# What a proxy's id may look like: nginx's is 32 hex digits; a UUID, a ULID pass too.
_ACCEPTED_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
# An id that looks like an individual number (primitives.numbers.NUMBER_SHAPED, the rule the
# log mask applies: about one in eighty of nginx's hex ids and of UUIDs holds twelve digits
# together) would be masked on every line that names it, and nobody could find the request
# by it: such an id is not taken, and none is made.

_request_id: ContextVar[str] = ContextVar("request_id", default="")
_actor: ContextVar[str] = ContextVar("actor", default="")
_task: ContextVar[str] = ContextVar("task", default="")


def request_id_accept(offered: str | None) -> str:
    """The offered id if it is one (never data: a shape, at most 64 characters, not
    number-shaped), else a new one."""
    if offered and _ACCEPTED_ID.fullmatch(offered) and not is_number_shaped(offered):
        return offered
    return request_id_new()


def request_id_new() -> str:
    """32 hex digits, never number-shaped."""
    while is_number_shaped(candidate := uuid.uuid4().hex):
        pass
    return candidate


_Tokens = tuple[Token[str], Token[str], Token[str]]


def _enter(request_id: str, actor: str, task: str) -> _Tokens:
    return (_request_id.set(request_id), _actor.set(actor), _task.set(task))


def _leave(tokens: _Tokens) -> None:
    for variable, token in zip((_request_id, _actor, _task), tokens, strict=True):
        variable.reset(token)


@contextmanager
def request_context(request_id: str, actor: str = "", task: str = "") -> Iterator[None]:
    tokens = _enter(request_id, actor, task)
    try:
        yield
    finally:
        _leave(tokens)


def actor_set(actor: str) -> None:
    """Who the work is for, once authentication has said (`client#12 (01)`, `user:clerk`)."""
    _actor.set(actor)


def request_id() -> str:
    return _request_id.get()


def actor() -> str:
    return _actor.get()


class RequestContextFilter(logging.Filter):
    """Adds `request_id`, `actor` and `task` to every record (empty outside any request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in (("request_id", _request_id), ("actor", _actor), ("task", _task)):
            if not getattr(record, name, ""):
                setattr(record, name, value.get())
        return True


# --- Celery: into the message, out of it in the worker -------------------------------------


@signals.before_task_publish.connect
def _publish_with_request(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    if headers is not None and _request_id.get():
        headers[_TASK_HEADER] = {"id": _request_id.get(), "actor": _actor.get()}


_running: dict[str, _Tokens] = {}


@signals.task_prerun.connect
def _task_starts(task_id: str = "", task: Any = None, **kwargs: Any) -> None:
    carried = (task.request.get(_TASK_HEADER) if task is not None else None) or {}
    name = getattr(task, "name", "")
    _running[task_id] = _enter(
        request_id_accept(carried.get("id") or task_id.replace("-", "")),
        str(carried.get("actor", ""))[:100],
        f"{name}[{task_id}]",
    )


@signals.task_postrun.connect
def _task_ends(task_id: str = "", **kwargs: Any) -> None:
    tokens = _running.pop(task_id, None)
    if tokens is not None:
        _leave(tokens)
