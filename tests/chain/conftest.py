"""The code acquisition chain with real processes: the live server serves linkage and every
simulated peer over HTTP; a real Celery worker (with beat) consumes a real broker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Count

from backbone.services import business_systems_connect
from config import celery_app
from intermediate.models import (
    CodeInformation,
    CommunicationForward,
    GatewayEntry,
    NationalInquiry,
    NetworkSerial,
    SerialNumberRequest,
)
from intermediate.services import registry_enrol
from linkage.models import CodeAcquisitionFile, CodeRequest
from tests.factories import KeyedClient, backbone_client

WAIT_SECONDS = 90


def database_url() -> str:
    """The test database as a URL the worker process can open."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = f"{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}"
    return f"postgres://{user}{password}@{host}/{db['NAME']}"


@dataclass
class Worker:
    """A Celery worker process (with embedded beat) pointed at the live server's peers."""

    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    def start(self, **extra_env: str) -> None:
        self.extra_env.update(extra_env)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603
                [
                    sys.executable, "-m", "celery", "-A", "config", "worker", "-B",
                    "--loglevel", "INFO", "--concurrency", "2",
                    "--without-gossip", "--without-mingle",
                    "-s", str(self.log.with_suffix(".beat")),
                ],
                cwd=settings.BASE_DIR,
                env={**self.env, **self.extra_env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def kill(self) -> None:
        """SIGKILL the whole worker (main process, pool children, beat): no clean shutdown.
        Also how a test stops a worker: Celery's warm shutdown takes 3-7 s here, and what a
        killed worker leaves is what the chain must recover from anyway."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None


@dataclass
class Chain:
    base_url: str
    worker: Worker
    jyuki: KeyedClient

    def wait_for(
        self, condition: Callable[[], bool], what: str, seconds: float = WAIT_SECONDS
    ) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.3)
        log = self.worker.log.read_text(errors="replace")
        trouble = [line for line in log.splitlines() if " WARNING " in line or " ERROR " in line]
        raise AssertionError(
            f"timed out after {seconds} s waiting for {what}\n"
            f"--- where the code requests stand ---\n{_code_requests_summary()}\n"
            f"--- worker warnings and errors ---\n" + "\n".join(trouble[-30:]) + "\n"
            f"--- worker log ---\n{log[-3000:]}"
        )


def _code_requests_summary() -> str:
    requests = CodeRequest.objects.values_list("status", "stage").annotate(n=Count("pk"))
    files = [
        (file.pk, bool(file.reception_number), file.fetched_at is not None)
        for file in CodeAcquisitionFile.objects.all()
    ]
    serials = SerialNumberRequest.objects.values_list("status").annotate(n=Count("pk"))
    undone = {
        "network serials not delivered": NetworkSerial.objects.filter(delivered_at=None).count(),
        "national inquiries not delivered": NationalInquiry.objects.filter(
            delivered_at=None
        ).count(),
        "gateway entries not forwarded": GatewayEntry.objects.filter(forwarded_at=None).count(),
        "CS pairs not forwarded": CommunicationForward.objects.filter(forwarded_at=None).count(),
    }
    return (
        f"code requests (status, stage, count): {sorted(requests)}\n"
        f"files (id, sent, fetched): {files}\n"
        f"intermediate serial-number requests (status, count): {sorted(serials)}\n"
        f"codes in table 46: {CodeInformation.objects.count()}; undone: {undone}"
    )


def queues_purge() -> None:
    """Empty the broker's queues, on a connection of its own: a pooled one may have died with
    a broker an earlier test restarted."""
    with celery_app.connection_for_write() as connection:
        celery_app.control.purge(connection=connection)


@pytest.fixture
def chain(
    live_server: Any, transactional_db: None, tmp_path: Path, settings: Any
) -> Iterator[Chain]:
    base = live_server.url
    settings.SIMULATOR_BASE_URL = base
    settings.PEER_URLS = {
        "intermediate": f"{base}/sim/intermediate",
        "gateway": f"{base}/sim/gateway",
        "network": f"{base}/sim/network",
        "national": f"{base}/sim/national",
        "cs": f"{base}/sim/cs",
    }
    settings.SIMULATED_TIMEOUT_SECONDS = 3
    queues_purge()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url(),
        "SIMULATOR_BASE_URL": base,
        "CODE_REQUEST_CONFIRM_EVERY": "1",
        "CODE_REQUEST_SWEEP_EVERY": "2",
        "CODE_REQUEST_STALLED_AFTER": "4",
        "SIMULATOR_SWEEP_EVERY": "2",
        "SIMULATOR_STALLED_AFTER": "4",
        "PEER_TIMEOUT": "2",
        "NOTICE_SWEEP_EVERY": "2",
        "NOTICE_STALLED_AFTER": "4",
        "NOTICE_RETRY_MAX_SECONDS": "2",
        "COPY_SWEEP_EVERY": "2",
        "COPY_STALLED_AFTER": "4",
    }
    # The business systems with their OAuth clients and notice callbacks on the live server:
    # 住基 receives code_request.serial_issued there (S34, first embodiment). The tests' own
    # changes come from a second 住基 client with a static key.
    business_systems_connect(
        linkage_url=base, callback_base_url=base, names=settings.NUMBER_SYSTEMS
    )
    jyuki = backbone_client(number_system="01", name="住基 (the tests' own client)")
    worker = Worker(env=env, log=tmp_path / "worker.log")
    worker.start()
    try:
        yield Chain(base_url=base, worker=worker, jyuki=jyuki)
    finally:
        worker.kill()
        queues_purge()


def enrolled(resident_number: str) -> str:
    code = registry_enrol(individual_number=resident_number).resident_code
    assert code is not None
    return code


@dataclass
class Broker:
    """Restarts the broker the suite runs on. Redis here keeps nothing on disk, so its queued
    messages are lost; RabbitMQ keeps durable ones; for the filesystem transport the queued
    files are deleted. Either way the pending rows must bring every request to completion."""

    url: str

    def restart(self) -> None:
        if self.url.startswith("redis://"):
            subprocess.run(["redis-cli", "-p", "6379", "shutdown", "nosave"], check=False)  # noqa: S607
            # The machine's own redis-server, started as the environment starts it.
            subprocess.run(
                [  # noqa: S607
                    "redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1",
                    "--port", "6379", "--save", "", "--appendonly", "no",
                    "--dir", "/var/lib/redis", "--logfile", "/var/log/redis/ci.log",
                ],
                check=True,
            )  # fmt: skip
            self._wait(["redis-cli", "-p", "6379", "ping"])
        elif self.url.startswith("amqp://"):
            subprocess.run(["rabbitmqctl", "stop_app"], check=True, capture_output=True)  # noqa: S607
            subprocess.run(["rabbitmqctl", "start_app"], check=True, capture_output=True)  # noqa: S607
            self._wait(["rabbitmqctl", "await_startup"])
        else:
            queue = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
            for message in queue.glob("*"):
                message.unlink()

    @staticmethod
    def _wait(command: list[str]) -> None:
        for _ in range(60):
            if subprocess.run(command, check=False, capture_output=True).returncode == 0:  # noqa: S603
                return
            time.sleep(0.5)
        raise AssertionError(f"the broker did not come back: {' '.join(command)}")


@pytest.fixture
def broker() -> Broker:
    return Broker(url=settings.CELERY_BROKER_URL)
