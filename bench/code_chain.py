#!/usr/bin/env python
"""Benchmark: how fast new persons' code requests complete, PostgreSQL + Redis.

Creates N new persons (their code requests wait as pending rows and queued tasks), serves
linkage and the simulated peers with gunicorn, starts 2 Celery workers (plus one beat for
confirmation and the sweep), and times until every person is `requested`. Prints persons per
minute and the HTTP calls per person (from gunicorn's access log).

    .venv/bin/python bench/code_chain.py [--persons 10000] [--workers 2] [--concurrency 4]

Creates and drops its own database `linkage_chain_bench` and uses Redis databases 13 (the
broker) and 11 (the shared cache, CACHE_URL).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from bench.common import (  # noqa: E402
    SERVER,
    celery_start,
    environment,
    manage,
    peaks_text,
    recreate_database,
)
from bench.instant_peers import InstantPeers  # noqa: E402

DATABASE = "linkage_chain_bench"
BROKER = "redis://127.0.0.1:6379/13"
CACHE = "redis://127.0.0.1:6379/11"  # shared by every process, as CACHE_URL is in production


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--persons", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--port", type=int, default=8932)
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument(
        "--instant-peers",
        action="store_true",
        help="linkage alone: peers that answer at once (bench/instant_peers.py), no national side",
    )
    parser.add_argument(
        "--arrival",
        choices=["bulk", "api"],
        default="bulk",
        help="how the persons arrive: a bulk import's chunks (a city's first acquisition after "
        "its initial load; code requests released 500 a message) or one API registration each",
    )
    parser.add_argument(
        "--route",
        choices=["gateway", "jyuki"],
        default="gateway",
        help="S34 to the 住基GW server in one request per file (second embodiment), or as a "
        "notice per person to 住基 (first embodiment)",
    )
    parser.add_argument("--create-persons", type=int, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.create_persons:
        create_persons(
            options.create_persons, instant=options.instant_peers, arrival=options.arrival
        )
        return

    recreate_database(DATABASE)
    for db in ("13", "11"):
        subprocess.run(["redis-cli", "-n", db, "flushdb"], check=True, capture_output=True)
    base_url = f"http://127.0.0.1:{options.port}"
    instant = InstantPeers() if options.instant_peers else None
    if instant is not None:
        stub = instant.serve(options.port + 1)
        stub_url = f"http://127.0.0.1:{options.port + 1}"
        peers = {
            "SIMULATORS_ENABLED": "0",
            "INTERMEDIATE_URL": f"{stub_url}/intermediate",
            "GATEWAY_URL": f"{stub_url}/gateway",
            "CODE_REQUEST_ROUTE": "gateway",  # S34 as one call; no 住基 in between
        }
    else:
        # The national side is the sandbox's, served by the same gunicorn.
        peers = {
            "SIMULATORS_ENABLED": "1",
            "SIMULATOR_BASE_URL": base_url,
            "INTERMEDIATE_URL": f"{base_url}/sim/intermediate",
            "GATEWAY_URL": f"{base_url}/sim/gateway",
            "CODE_REQUEST_ROUTE": options.route,
        }
    env = environment(
        "config.settings.production",
        DATABASE,
        CELERY_BROKER_URL=BROKER,
        CACHE_URL=CACHE,
        SECURE_SSL_REDIRECT="0",
        CODE_REQUEST_CONFIRM_EVERY="2",
        # BENCH_LOG_LEVEL=INFO shows every task's runtime (celery.app.trace) in the output.
        LOG_LEVEL=os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
        **peers,
    )
    manage(env, "migrate", "--no-input")

    print(
        f"creating {options.persons} persons (workers stopped: their tasks queue up)...", flush=True
    )
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            __file__,
            "--create-persons",
            str(options.persons),
            f"--arrival={options.arrival}",
            *(["--instant-peers"] if instant is not None else []),
        ],
        cwd=ROOT,
        env=env,
        check=True,
    )
    print(f"  created in {time.perf_counter() - started:.0f} s", flush=True)

    work = Path(tempfile.mkdtemp(prefix="code-chain-bench-"))
    access_log = work / "access.log"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{options.port}",
            "--workers",
            "4",
            "--threads",
            "4",
            "--worker-class",
            "gthread",
            "--access-logfile",
            str(access_log),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    time.sleep(2)
    processes = celery_start(
        env,
        workers=options.workers,
        concurrency=options.concurrency,
        name="bench",
        beat_dir=work,
    )
    started = time.perf_counter()
    done = 0
    try:
        with psycopg.connect(f"{SERVER}/{DATABASE}", autocommit=True) as conn:
            while time.perf_counter() - started < options.timeout:
                row = conn.execute(
                    "SELECT count(*) FILTER (WHERE status = 'requested'), count(*) "
                    "FROM linkage_coderequest"
                ).fetchone()
                assert row is not None
                done = row[0]
                if done == options.persons:
                    break
                time.sleep(1)
            elapsed = time.perf_counter() - started
            errors = conn.execute(
                "SELECT count(*) FROM linkage_coderequest WHERE status = 'error'"
            ).fetchone()
            files = conn.execute("SELECT count(*) FROM linkage_codeacquisitionfile").fetchone()
            codes = (
                None
                if instant is not None
                else conn.execute("SELECT count(*) FROM intermediate_codeinformation").fetchone()
            )
            # Exactly once: one serial-number request per person at the intermediate server.
            serials = (
                None
                if instant is not None
                else conn.execute(
                    "SELECT count(*), count(DISTINCT integrated_number) "
                    "FROM intermediate_serialnumberrequest"
                ).fetchone()
            )
        tasks = tasks_run(env)
        memory = (
            [f"gunicorn: {peaks_text(server.pid)}"]
            + [f"worker {i}: {peaks_text(process.pid)}" for i, process in enumerate(processes[:-1])]
            + [f"beat: {peaks_text(processes[-1].pid)}"]
        )
    finally:
        # The main process only: a warm shutdown lets its pool finish the tasks in hand.
        for process in [*processes, server]:
            process.terminate()
        for process in [*processes, server]:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
    calls = sum(1 for _ in access_log.open())
    if instant is not None:
        stub.shutdown()
        calls = sum(instant.calls.values())
        print(f"linkage alone, instant peers: {dict(instant.calls)}")
        print(f"linkage moves {done / elapsed:.0f} persons/s ({done / elapsed * 60:.0f}/minute)")
    print(
        f"{options.workers} workers x {options.concurrency} processes, gunicorn 4x4, "
        f"{os.cpu_count()} CPUs"
    )
    print(
        f"requested: {done}/{options.persons} in {elapsed:.1f} s  "
        f"({done / elapsed * 60:.0f} persons/minute)  errors: {errors[0] if errors else '?'}"
    )
    print(
        f"HTTP calls: {calls} ({calls / max(done, 1):.2f} per person); "
        f"code acquisition files: {files[0] if files else '?'}; "
        f"codes in table 46: {codes[0] if codes else '?'}"
    )
    if serials is not None:
        print(f"serial-number requests: {serials[0]} for {serials[1]} persons")
    print(
        f"tasks: {sum(tasks.values())} ({sum(tasks.values()) / max(done, 1):.2f} per person): "
        + ", ".join(f"{name.rsplit('.', 1)[1]} {count}" for name, count in tasks.most_common())
    )
    print("peak resident memory (main process first):")
    for line in memory:
        print(f"  {line}")
    print("target: all 10,000 within 180 s")


def tasks_run(env: dict[str, str]) -> Counter[str]:
    """Tasks each worker has run so far, by name (Celery's own count: `inspect stats`)."""
    result = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "config", "inspect", "stats", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    counts: Counter[str] = Counter()
    try:
        replies = json.loads(result.stdout)
    except ValueError:
        return counts
    for stats in replies.values():
        counts.update(stats.get("total", {}))
    return counts


def create_persons(count: int, *, instant: bool = False, arrival: str = "bulk") -> None:
    """Runs in its own process with the benchmark's settings: enrol N residents in the
    national registry and register them through the bulk import's write path (chunks of 500)
    or the API's (one change at a time)."""
    import django

    django.setup()
    from backbone.synthetic import ResidentGenerator
    from linkage.bulk.ingest import CODE_REQUEST_CAUSE
    from linkage.models import BackboneClient
    from linkage.services.address_changes import AddressChange, BasicItems
    from linkage.services.backbone_clients import backbone_client_create
    from linkage.services.pipeline import Incoming, address_change_receive, changes_store
    from primitives.numbers import resident_code_complete

    generator = ResidentGenerator(seed=7)
    now = datetime.datetime.now(datetime.UTC)
    residents = [generator.resident() for _ in range(count)]
    if instant:
        # No national side to enrol in, no 住基 to notify (S34 goes to the 住基GW stub).
        backbone_client_create(number_system="01", name="住基 (bench)")
    else:
        from backbone.services import business_systems_connect
        from intermediate.models import RegistryEntry
        from intermediate.services import encrypted

        # The business systems, with 住基's notice callback (S34 reaches it as a notice on
        # the first embodiment's route).
        base_url = os.environ["SIMULATOR_BASE_URL"]
        business_systems_connect(
            linkage_url=base_url, callback_base_url=base_url, names={"01": "住基 (bench)"}
        )
        RegistryEntry.objects.bulk_create(
            [
                RegistryEntry(
                    resident_code=resident_code_complete(f"{i:010d}"),
                    **encrypted(r.individual_number),
                )
                for i, r in enumerate(residents, start=1)
            ],
            batch_size=2000,
        )
    client = BackboneClient.objects.get(number_system="01")
    changes = [
        AddressChange(
            event_id=f"bench-{i}",
            number_system="01",
            address_number=str(i),
            individual_number=r.individual_number,
            changed_at=now,
            person=BasicItems(
                name=r.name,
                name_kana=r.name_kana,
                birth_date=r.birth_date,
                sex=r.sex,
                address=r.address,
            ),
        )
        for i, r in enumerate(residents, start=1)
    ]
    if arrival == "api":
        for change in changes:
            address_change_receive(client=client, change=change)
        return
    for start in range(0, len(changes), 500):
        changes_store(
            [Incoming.of(change, client) for change in changes[start : start + 500]],
            cause=CODE_REQUEST_CAUSE,
            immediate_constraints=True,
        )


if __name__ == "__main__":
    main()
