"""A database host that vanishes from the network while connections to it are open: a
failover whose old primary is gone, a switch or a firewall that drops every packet. Nothing
refuses and nothing answers; the kernel retransmits a query for about 15 minutes before it
gives the connection up, and every gunicorn thread that meets the database waits with it.

Rehearsed here for real: a process in a network namespace of its own reaches PostgreSQL
through a virtual link, and the test takes the link down under its open connection. The
settings' TCP user timeout (DATABASE_TCP_USER_TIMEOUT) ends the wait; the connect timeout
ends the next connection's; when the link is back, the same process answers again.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the connection options are PostgreSQL's"
)

# The probe: inside the namespace beside gunicorn, the readiness check asked over HTTP once
# gunicorn serves, and again for each line it reads.
PROBE = """
import http.client, json, sys, time


def get(path):
    conn = http.client.HTTPConnection("127.0.0.1", 8000, timeout=120)
    conn.request("GET", path)
    answer = conn.getresponse()
    return answer.status, answer.read()


deadline = time.monotonic() + 60
while True:
    try:
        get("/healthz/live")
        break
    except OSError:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.2)


def probe():
    started = time.monotonic()
    status, body = get("/healthz")
    database = json.loads(body)["checks"]["database"]
    return {
        "status": status,
        "database": database["ok"],
        "detail": database["detail"],
        "seconds": round(time.monotonic() - started, 2),
    }


print(json.dumps(probe()), flush=True)
for _ in sys.stdin:
    print(json.dumps(probe()), flush=True)
"""


IP = shutil.which("ip") or "/usr/sbin/ip"


def _ip(*args: str, check: bool = True) -> None:
    subprocess.run([IP, *args], check=check, capture_output=True, timeout=10)  # noqa: S603 (our own arguments)


def _forward(listener: socket.socket, target: tuple[str, int], ends: list[socket.socket]) -> None:
    """Relay every connection the listener takes to `target`, byte for byte, until closed;
    `ends` keeps every socket, for the test to close (a relay whose far end vanished with the
    link would hold its database session open for good)."""

    def relay(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    while True:
        try:
            near, _ = listener.accept()
        except OSError:
            return  # the listener is closed: the test is over
        far = socket.create_connection(target)
        ends += [near, far]
        threading.Thread(target=relay, args=(near, far), daemon=True).start()
        threading.Thread(target=relay, args=(far, near), daemon=True).start()


@dataclass
class Link:
    namespace: str
    address: str
    port: int
    host_side: str

    def cut(self) -> None:
        _ip("link", "set", self.host_side, "down")

    def mend(self) -> None:
        _ip("link", "set", self.host_side, "up")


@pytest.fixture
def link() -> Iterator[Link]:
    """A network namespace joined to this host by a virtual link, and PostgreSQL reachable
    from it at the host's end of the link (a relay to the test database's server)."""
    name = f"lk{os.getpid() % 100_000}"
    octet = os.getpid() % 250 + 1
    address, inside = f"10.251.{octet}.1", f"10.251.{octet}.2"
    try:
        _ip("netns", "add", name)
    except (OSError, subprocess.SubprocessError):
        pytest.skip("a network namespace needs root and iproute2 (ip netns)")
    listener, ends = socket.socket(), list[socket.socket]()
    try:
        _ip("link", "add", f"{name}h", "type", "veth", "peer", "name", f"{name}n")
        _ip("link", "set", f"{name}n", "netns", name)
        _ip("addr", "add", f"{address}/30", "dev", f"{name}h")
        _ip("link", "set", f"{name}h", "up")
        _ip("netns", "exec", name, "ip", "addr", "add", f"{inside}/30", "dev", f"{name}n")
        _ip("netns", "exec", name, "ip", "link", "set", f"{name}n", "up")
        _ip("netns", "exec", name, "ip", "link", "set", "lo", "up")
        listener.bind((address, 0))
        listener.listen(16)
        database = connection.settings_dict
        target = (database["HOST"] or "127.0.0.1", int(database["PORT"] or 5432))
        threading.Thread(target=_forward, args=(listener, target, ends), daemon=True).start()
        yield Link(name, address, listener.getsockname()[1], f"{name}h")
    finally:
        listener.close()
        for end in ends:
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()
        _ip("netns", "del", name, check=False)
        _ip("link", "del", f"{name}h", check=False)


class Probe:
    """gunicorn with the production settings in the namespace, one worker with one thread (so
    every request meets the same connection), and the probe beside it."""

    def __init__(self, link: Link, tmp_path: Path) -> None:
        database = connection.settings_dict
        env = {
            **{
                key: value
                for key, value in os.environ.items()
                if not key.startswith(("DJANGO_", "CELERY_", "GUNICORN_", "CACHE_"))
            },
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "DATABASE_URL": (
                f"postgres://{database['USER'] or 'postgres'}@{link.address}:{link.port}"
                f"/{database['NAME']}"
            ),
            "DATABASE_CONNECT_TIMEOUT": "2",
            "DATABASE_TCP_USER_TIMEOUT": "2",
            "SECRET_KEY": "vanishing-database-test-secret-key-" + "x" * 40,
            "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),
            "BLIND_INDEX_KEY": settings.BLIND_INDEX_KEY,
            "AUDIT_LOG_KEY": settings.AUDIT_LOG_KEY,
            "CELERY_BROKER_URL": "filesystem://localhost/",
            "CELERY_FILESYSTEM_DIR": str(tmp_path / "broker"),
            "INTERMEDIATE_URL": "http://127.0.0.1:9/intermediate",
            "GATEWAY_URL": "http://127.0.0.1:9/gateway",
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            "GUNICORN_BIND": "127.0.0.1:8000",
            "GUNICORN_WORKERS": "1",
            "GUNICORN_THREADS": "1",
            "GUNICORN_ACCESS_LOG": str(tmp_path / "access.log"),
            "GUNICORN_ERROR_LOG": str(tmp_path / "error.log"),
        }
        inside = [IP, "netns", "exec", link.namespace, sys.executable]
        self.server = subprocess.Popen(  # noqa: S603 (this interpreter, our own arguments)
            [*inside, "-m", "gunicorn", "config.wsgi", "-c", "gunicorn.conf.py"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.process = subprocess.Popen(  # noqa: S603 (this interpreter, our own script)
            [*inside, "-c", PROBE],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.answers = selectors.DefaultSelector()
        self.answers.register(self.process.stdout, selectors.EVENT_READ)  # type: ignore[arg-type]

    def answer(self, *, within: float) -> dict[str, Any]:
        if not self.answers.select(timeout=within):
            raise AssertionError(f"the readiness check still waits after {within} s")
        line = self.process.stdout.readline()  # type: ignore[union-attr]
        assert line, "the probe ended: gunicorn did not serve"
        return dict(json.loads(line))

    def again(self, *, within: float) -> dict[str, Any]:
        self.process.stdin.write("\n")  # type: ignore[union-attr]
        self.process.stdin.flush()  # type: ignore[union-attr]
        return self.answer(within=within)

    def close(self) -> None:
        for process in (self.process, self.server):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def test_a_vanished_database_costs_seconds_and_is_found_again(
    db: None, link: Link, tmp_path: Path
) -> None:
    probe = Probe(link, tmp_path)
    try:
        assert probe.answer(within=60)["database"] is True  # connected, and kept (CONN_MAX_AGE)

        link.cut()
        started = time.monotonic()
        lost = probe.again(within=20)
        assert lost["status"] == 503
        assert lost["database"] is False
        assert time.monotonic() - started < 10  # the TCP user timeout (2 s), not 15 minutes

        still = probe.again(within=20)  # a new connection: the connect timeout (2 s) each try
        assert (still["status"], still["database"]) == (503, False)
        assert still["seconds"] < 10

        link.mend()
        back = probe.again(within=30)
        assert back["database"] is True, back  # the same process reconnects by itself
    finally:
        probe.close()
