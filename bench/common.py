"""What every benchmark needs: a fresh PostgreSQL database, production settings with new keys,
and manage.py run against them."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
SERVER = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")


def key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def recreate_database(database: str) -> None:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {database}")


def environment(settings_module: str, database: str, **extra: str) -> dict[str, str]:
    """This process's environment with the settings, the database and fresh keys."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings_module,
        "DATABASE_URL": f"{SERVER}/{database}",
        "SECRET_KEY": key() + key(),
        "FIELD_ENCRYPTION_KEYS": key(),
        "BLIND_INDEX_KEY": key(),
        "AUDIT_LOG_KEY": key(),
        # Production needs its peers named; benchmarks that use them override these.
        "INTERMEDIATE_URL": "http://127.0.0.1:9/intermediate",
        "GATEWAY_URL": "http://127.0.0.1:9/gateway",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        # Throughput is what is measured: no key may be slowed by its rate limit.
        "API_RATE_LIMIT": "100000000/m",
        **extra,
    }


def sandbox(env: dict[str, str]) -> dict[str, str]:
    """`env` with the sandbox on: the synthetic file generator is a simulated business
    system's command (backbone), not the product's."""
    return {**env, "SIMULATORS_ENABLED": "1"}


def manage(env: dict[str, str], *args: str) -> str:
    """Run manage.py with `env`; its standard output (a failure raises)."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants (Linux /proc)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            children = (
                (task / "children").read_text().split() if (task / "children").exists() else []
            )
            queue.extend(int(child) for child in children)
    return found


def peak_rss_mib(pid: int) -> list[float]:
    """The peak resident memory (VmHWM) of each process of the tree rooted at `pid`, in MiB."""
    peaks = []
    for member in process_tree(pid):
        try:
            status = Path(f"/proc/{member}/status").read_text()
        except FileNotFoundError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return peaks


def peaks_text(pid: int) -> str:
    peaks = peak_rss_mib(pid)
    return f"{len(peaks)} processes, " + " / ".join(f"{peak:.0f}" for peak in peaks) + " MiB"


def celery_start(
    env: dict[str, str], *, workers: int, concurrency: int, name: str, beat_dir: Path
) -> list[subprocess.Popen[bytes]]:
    """`workers` Celery workers of `concurrency` processes each, and beat, each in a session
    of its own (so each is stopped whole)."""
    celery = [sys.executable, "-m", "celery", "-A", "config"]
    level = ["--loglevel", env["LOG_LEVEL"]]
    commands = [
        [*celery, "worker", *level, "--concurrency", str(concurrency), "-n", f"{name}{i}@%h",
         "--without-gossip", "--without-mingle"]
        for i in range(workers)
    ]  # fmt: skip
    commands.append([*celery, "beat", *level, "-s", str(beat_dir / "beat")])
    return [
        subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True) for command in commands
    ]
