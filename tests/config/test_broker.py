"""The filesystem broker never hands a worker a message that is still being written."""

from __future__ import annotations

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
