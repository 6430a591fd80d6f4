"""The filesystem broker never hands a worker a message that is still being written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from kombu import Connection

from config import celery_app
from config.broker import Transport


def connection(folder: Path) -> Connection:
    for name in ("queue", "processed"):
        (folder / name).mkdir(exist_ok=True)
    return Connection(
        "filesystem://",
        transport_options={
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
        },
    )


def test_filesystem_urls_use_the_atomic_transport(settings: Any) -> None:
    with Connection("filesystem://") as conn:
        assert conn.transport_cls == "filesystem"
        assert isinstance(conn.transport, Transport)
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        with celery_app.connection_for_write() as conn:
            assert isinstance(conn.transport, Transport)


def test_a_message_being_written_is_not_read_and_a_written_one_is(tmp_path: Path) -> None:
    with connection(tmp_path) as conn:
        channel = conn.default_channel
        # A message caught half-written, as kombu's own transport could leave it visible.
        (tmp_path / "queue" / "1_partial.work.msg.tmp").write_bytes(b"")
        channel._put("work", {"body": "whole"})
        assert [p.name.endswith(".work.msg") for p in (tmp_path / "queue").iterdir()].count(
            True
        ) == 1
        assert channel._get("work") == {"body": "whole"}
        assert not list((tmp_path / "queue").glob("*.work.msg"))
        assert (tmp_path / "queue" / "1_partial.work.msg.tmp").exists()  # never read


def test_a_redis_broker_that_never_answers_fails_a_publish_in_seconds(silent_port: int) -> None:
    """A Redis that takes the connection and never answers held the request that enqueued
    work for good (a registration measured no answer after 90 s): every gunicorn thread
    would hang on it. With the settings' transport options a publish fails within seconds;
    the caller logs it and the sweep sends the work later. Run in a process of its own, as
    the settings read CELERY_BROKER_URL when they load."""
    script = (
        "import time, django; django.setup()\n"
        "from config import celery_app\n"
        "started = time.monotonic()\n"
        "try:\n"
        "    celery_app.send_task('linkage.tasks.code_requests_sweep')\n"
        "except Exception as error:\n"
        "    print(type(error).__name__, round(time.monotonic() - started, 1))\n"
    )
    done = subprocess.run(  # noqa: S603 (this interpreter, our own script)
        [sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parents[2],
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "CELERY_BROKER_URL": f"redis://127.0.0.1:{silent_port}/0",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    failure, seconds = done.stdout.split()
    assert failure == "OperationalError", done.stdout + done.stderr
    assert float(seconds) < 10  # measured: 4.0 s (each attempt 2 s; the old settings: none in 40 s)
