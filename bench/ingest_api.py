#!/usr/bin/env python
"""Benchmark: POST /api/v1/address-changes through gunicorn on PostgreSQL.

Starts gunicorn with production settings behind a simulated TLS-terminating proxy
(X-Forwarded-Proto: https), and a bare Django JSON endpoint served the same way beside it;
then, round after round, drives the API with N concurrent keep-alive connections (70% new
persons, 30% updates of known ones) and the bare endpoint with the same bodies. Prints each
round's changes/s, p50/p99 latency and the ratio of the two, and their medians: a round's two
figures share the machine's drift of those minutes.

    .venv/bin/python bench/ingest_api.py [--requests 6000] [--rounds 3] [--connections 8]

Needs PostgreSQL (DATABASE_URL's server; default postgres@127.0.0.1:5432); it creates and
drops its own database `linkage_bench`.
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from backbone.synthetic import Resident, ResidentGenerator  # noqa: E402
from bench.common import (  # noqa: E402
    SERVER,
    environment,
    manage,
    peaks_text,
    recreate_database,
)

DATABASE = "linkage_bench"


def start_gunicorn(
    env: dict[str, str], port: int, workers: int, threads: int
) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", "config.wsgi",
            "--bind", f"127.0.0.1:{port}",
            "--workers", str(workers), "--threads", str(threads), "--worker-class", "gthread",
            "--keep-alive", "30", "--log-level", "warning",
        ],
        cwd=ROOT, env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/", headers={"X-Forwarded-Proto": "https"})
            conn.getresponse().read()
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("gunicorn did not start")


def drive(args: tuple[int, str, list[bytes]]) -> tuple[list[float], int]:
    """One connection sending its share of bodies; returns latencies (s) and failures."""
    port, api_key, bodies = args
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {
        "Authorization": f"Token {api_key}",
        "Content-Type": "application/json",
        "X-Forwarded-Proto": "https",
        "Host": "127.0.0.1",
    }
    latencies, failures = [], 0
    for body in bodies:
        started = time.perf_counter()
        conn.request("POST", "/api/v1/address-changes", body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        latencies.append(time.perf_counter() - started)
        if response.status not in (200, 201):
            failures += 1
    conn.close()
    return latencies, failures


def run_load(port: int, api_key: str, bodies: list[bytes], connections: int) -> dict[str, float]:
    shares = [(port, api_key, bodies[i::connections]) for i in range(connections)]
    with multiprocessing.Pool(connections) as pool:
        started = time.perf_counter()
        results = pool.map(drive, shares)
        elapsed = time.perf_counter() - started
    latencies = sorted(latency for share, _ in results for latency in share)
    failures = sum(failed for _, failed in results)
    return {
        "requests": len(latencies),
        "failures": failures,
        "seconds": elapsed,
        "per_second": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


def address_changes(total: int, warmup: int, seed: int) -> tuple[list[bytes], list[bytes]]:
    """Warm-up registrations, then the timed mix: 70% new persons, 30% updates of known ones."""
    generator = ResidentGenerator(seed=seed)
    rng = random.Random(seed)
    now = datetime.datetime.now(datetime.UTC).isoformat()
    known: list[tuple[str, Resident]] = []
    counter = 0

    def body(resident: Resident, address_number: str) -> bytes:
        nonlocal counter
        counter += 1
        return json.dumps(
            {
                "event_id": f"bench-{seed}-{counter}",
                "number_system": "01",
                "address_number": address_number,
                "individual_number": resident.individual_number,
                "changed_at": now,
                "person": resident.as_person(),
                "business": {
                    "data_type": "household",
                    "items": {"household_number": f"H{counter}"},
                },
            },
            ensure_ascii=False,
        ).encode()

    warm = []
    for i in range(warmup):
        resident = generator.resident()
        known.append((f"{i + 1}", resident))
        warm.append(body(resident, f"{i + 1}"))
    timed = []
    for i in range(total):
        if rng.random() < 0.7:
            resident = generator.resident()
            timed.append(body(resident, f"{warmup + i + 1}"))
        else:
            address_number, resident = rng.choice(known)
            timed.append(body(generator.moved(resident), address_number))
    return warm, timed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--warmup", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", type=int, default=8931)
    options = parser.parse_args()

    recreate_database(DATABASE)
    # Its own broker: the registrations' code requests must not land in the filesystem
    # broker's folder that `make demo` reads (they name persons of this database only).
    # The shared cache the reference deployment gives every worker (deploy/linkage.env.example):
    # the rate limits count in it, and the new persons' code requests are released by one
    # drain per window instead of a message each.
    env = environment(
        "config.settings.production",
        DATABASE,
        CELERY_BROKER_URL="redis://127.0.0.1:6379/11",
        CACHE_URL="redis://127.0.0.1:6379/10",
    )
    for database in ("10", "11"):
        subprocess.run(["redis-cli", "-n", database, "flushdb"], check=True, capture_output=True)
    manage(env, "migrate", "--no-input")
    api_key = manage(env, "create_backbone_client", "01", "bench").strip().splitlines()[-1]
    total = options.requests * options.rounds
    warm, timed = address_changes(total, options.warmup, seed=int(time.time()))

    # Both servers stay up and are driven in turn, round after round: the machine's speed
    # drifts within minutes, and each round's ratio compares the two under the same drift.
    bare_env = {**env, "DJANGO_SETTINGS_MODULE": "bench.bare_settings"}
    api_port, bare_port = options.port, options.port + 1
    server = start_gunicorn(env, api_port, options.workers, options.threads)
    bare_server = start_gunicorn(bare_env, bare_port, options.workers, options.threads)
    rounds: list[tuple[dict[str, float], dict[str, float]]] = []
    try:
        warmed = run_load(api_port, api_key, warm, options.connections)
        run_load(bare_port, api_key, warm[:1000], options.connections)
        for n in range(options.rounds):
            share = timed[n * options.requests : (n + 1) * options.requests]
            api = run_load(api_port, api_key, share, options.connections)
            bare = run_load(bare_port, api_key, share, options.connections)
            rounds.append((api, bare))
        web_memory = peaks_text(server.pid)
    finally:
        for running in (server, bare_server):
            running.terminate()
            running.wait()

    with psycopg.connect(f"{SERVER}/{DATABASE}") as conn:
        persons = conn.execute("SELECT count(*) FROM linkage_person").fetchone()[0]  # type: ignore[index]
        versions = conn.execute("SELECT count(*) FROM linkage_addressversion").fetchone()[0]  # type: ignore[index]

    print(f"gunicorn gthread: {options.workers} workers x {options.threads} threads; "
          f"{options.connections} keep-alive connections; {os.cpu_count()} CPUs; "
          f"measured {datetime.datetime.now(datetime.UTC):%Y-%m-%d}")  # fmt: skip
    print(f"warm-up: {warmed['requests']:.0f} registrations, {warmed['failures']:.0f} failures")
    for n, (api, bare) in enumerate(rounds, start=1):
        for name, figures in ((f"{n}: address-changes API", api), (f"{n}: bare endpoint", bare)):
            print(
                f"{name:25s} {figures['requests']:6.0f} requests  "
                f"{figures['failures']:3.0f} failures  {figures['per_second']:7.0f} req/s  "
                f"p50 {figures['p50_ms']:6.2f} ms  p99 {figures['p99_ms']:6.2f} ms"
            )
        print(f"{n}: ratio API / bare {api['per_second'] / bare['per_second']:.3f}")
    ratio = statistics.median(api["per_second"] / bare["per_second"] for api, bare in rounds)
    p99 = statistics.median(api["p99_ms"] for api, _ in rounds)
    per_second = statistics.median(api["per_second"] for api, _ in rounds)
    print(f"median of {len(rounds)} rounds: API {per_second:.0f} req/s, "
          f"ratio API / bare {ratio:.3f} (target >= 0.25), "
          f"API p99 {p99:.2f} ms (target <= 50 ms)")  # fmt: skip
    print(f"database: {persons} persons, {versions} address versions")
    print(f"gunicorn peak resident memory (master, then workers): {web_memory}")


if __name__ == "__main__":
    main()
