#!/usr/bin/env python
"""Benchmark: the intermediate server's daily work (SPEC 11) end to end on PostgreSQL.

One gunicorn serves linkage and the simulated national side (production settings, the
sandbox on), Celery workers and beat run on Redis. N residents are registered with their codes
acquired (the code chain's end state, seeded), and 千代田区 (131016) holds an income copy of
each. Then, timed:

1. copies: 税 registers N income copies through `POST /api/v1/copies` over 8 keep-alive
   connections (a nightly 副本 refresh); figures for the API's acceptance and for the whole
   run until the intermediate server holds every copy (the workers deliver them in batches);
2. inquiries: 福祉 makes N inquiries to 131016 through `POST /api/v1/inquiries`; the whole run
   until every one is answered (linkage -> intermediate server -> network -> the provider's
   intermediate server, answered from its copies, and back).

    .venv/bin/python bench/exchange.py [--persons 2000] [--workers 2] [--concurrency 4]

Creates and drops its own database `linkage_exchange_bench`; Redis databases 12 (broker)
and 10 (cache).
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from bench.common import SERVER, celery_start, environment, manage, recreate_database  # noqa: E402

DATABASE = "linkage_exchange_bench"
BROKER = "redis://127.0.0.1:6379/12"
CACHE = "redis://127.0.0.1:6379/10"
CHIYODA = "131016"


def seed(persons: int) -> None:
    """(Run in a child process with the bench's environment.) The clients, N residents with
    their codes acquired on both sides, and 131016's copies; prints the two keys."""
    import django

    django.setup()
    from backbone.synthetic import ResidentGenerator
    from intermediate.exchange import permitted_exchanges_load
    from intermediate.models import (
        CodeInformation,
        CopyRecord,
        InstitutionPerson,
        NetworkSerial,
    )
    from intermediate.services import code_derive
    from linkage.models import BackboneClient, CodeRequest, CodeRequestStatus
    from linkage.services.address_changes import address_change_of
    from linkage.services.backbone_clients import backbone_client_create
    from linkage.services.pipeline import address_change_receive
    from primitives.numbers import integrated_number_from_serial

    keys = {}
    for number_system, name in (("02", "税"), ("04", "福祉")):
        keys[number_system] = backbone_client_create(number_system=number_system, name=name).key
    generator = ResidentGenerator(seed=20261204)
    now = datetime.datetime.now(datetime.UTC).isoformat()
    for n in range(persons):
        someone = generator.resident()
        for number_system, prefix in (("02", "55"), ("04", "77")):
            body = {
                "event_id": f"seed-{number_system}-{n}",
                "number_system": number_system,
                "address_number": f"{prefix}{n:07d}",
                "individual_number": someone.individual_number,
                "changed_at": now,
                "person": someone.as_person(),
            }
            address_change_receive(
                client=BackboneClient.objects.get(number_system=number_system),
                change=address_change_of(_validated(body), sent=body),
            )
    CodeRequest.objects.update(status=CodeRequestStatus.REQUESTED)
    from django.conf import settings

    from linkage.models import Person

    here, serials, there, known, copies = [], [], [], [], []
    for n, integrated in enumerate(
        Person.objects.order_by("pk").values_list("integrated_number", flat=True)
    ):
        resident_code = f"{n + 1:011d}"
        code = code_derive(lg_code=settings.LG_CODE, resident_code=resident_code)
        here.append(
            CodeInformation(lg_code=settings.LG_CODE, integrated_number=integrated, code=code)
        )
        serials.append(
            NetworkSerial(
                processing_serial_number=f"P{n:015d}",
                request_key=f"seed-{n}",
                lg_code=settings.LG_CODE,
                integrated_number=integrated,
                code=code,
                resident_code=resident_code,
            )
        )
        provider_number = integrated_number_from_serial(10_000_000 + n)
        provider_code = code_derive(lg_code=CHIYODA, resident_code=resident_code)
        there.append(
            CodeInformation(lg_code=CHIYODA, integrated_number=provider_number, code=provider_code)
        )
        known.append(
            InstitutionPerson(lg_code=CHIYODA, code=provider_code, resident_code=resident_code)
        )
        copies.append(
            CopyRecord(
                lg_code=CHIYODA,
                copy_id=f"00000000-0000-4000-8000-{n:012d}",
                revision=1,
                integrated_number=provider_number,
                data_set="local_tax_income",
                record_key=f"2025-{n}",
                items={"taxable_income": 2_000_000 + n},
                valid_from=datetime.date(2025, 6, 1),
            )
        )
    CodeInformation.objects.bulk_create(here + there, batch_size=2000)
    NetworkSerial.objects.bulk_create(serials, batch_size=2000)
    InstitutionPerson.objects.bulk_create(known, batch_size=2000)
    CopyRecord.objects.bulk_create(copies, batch_size=2000)
    permitted_exchanges_load()
    print(json.dumps(keys))


def _validated(body: dict[str, Any]) -> dict[str, Any]:
    from linkage.api.serializers import AddressChangeInputSerializer
    from linkage.models import BackboneClient

    serializer = AddressChangeInputSerializer(
        data=body,
        context={"client": BackboneClient.objects.get(number_system=body["number_system"])},
    )
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def drive(args: tuple[int, str, str, list[bytes]]) -> int:
    """One keep-alive connection posting its share; returns how many were accepted."""
    port, key, path, bodies = args
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {
        "Authorization": f"Token {key}",
        "Content-Type": "application/json",
        "X-Forwarded-Proto": "https",
        "Host": "127.0.0.1",
    }
    accepted = 0
    for body in bodies:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        accepted += response.status in (200, 202)
    conn.close()
    return accepted


def post_all(port: int, key: str, path: str, bodies: list[bytes], connections: int = 8) -> int:
    with multiprocessing.Pool(connections) as pool:
        return sum(
            pool.map(drive, [(port, key, path, bodies[i::connections]) for i in range(connections)])
        )


def wait_until(query: str, target: int, timeout: float) -> float:
    """Seconds until `query` counts `target` rows (or the timeout)."""
    started = time.perf_counter()
    with psycopg.connect(f"{SERVER}/{DATABASE}", autocommit=True) as conn:
        while time.perf_counter() - started < timeout:
            row = conn.execute(query).fetchone()
            if row is not None and row[0] >= target:
                return time.perf_counter() - started
            time.sleep(0.5)
    raise SystemExit(f"timed out: {query} did not reach {target}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--persons", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--port", type=int, default=8933)
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.seed:
        seed(options.seed)
        return

    recreate_database(DATABASE)
    for db in ("12", "10"):
        subprocess.run(["redis-cli", "-n", db, "flushdb"], check=True, capture_output=True)
    base_url = f"http://127.0.0.1:{options.port}"
    env = environment(
        "config.settings.production",
        DATABASE,
        CELERY_BROKER_URL=BROKER,
        CACHE_URL=CACHE,
        SECURE_SSL_REDIRECT="0",
        SIMULATORS_ENABLED="1",
        SIMULATOR_BASE_URL=base_url,
        INTERMEDIATE_URL=f"{base_url}/sim/intermediate",
        GATEWAY_URL=f"{base_url}/sim/gateway",
        LOG_LEVEL=os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
    )
    manage(env, "migrate", "--no-input")
    print(f"seeding {options.persons} residents with their codes...", flush=True)
    started = time.perf_counter()
    seeded = subprocess.run(
        [sys.executable, __file__, "--seed", str(options.persons)],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    keys = json.loads(seeded.stdout.strip().splitlines()[-1])
    print(f"  seeded in {time.perf_counter() - started:.0f} s", flush=True)

    work = Path(tempfile.mkdtemp(prefix="exchange-bench-"))
    server = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{options.port}",
            "--workers", "4", "--threads", "4", "--worker-class", "gthread",
            "--log-level", "warning", "--access-logfile", str(work / "access.log"),
        ],
        cwd=ROOT, env=env,
    )  # fmt: skip
    time.sleep(3)
    processes = celery_start(
        env,
        workers=options.workers,
        concurrency=options.concurrency,
        name="exchange",
        beat_dir=work,
    )
    n = options.persons
    try:
        copies = [
            json.dumps(
                {
                    "event_id": f"copy-{i}",
                    "number_system": "02",
                    "address_number": f"55{i:07d}",
                    "data_set": "local_tax_income",
                    "record_key": f"2026-{i}",
                    "items": {"fiscal_year": 2026, "taxable_income": 3_000_000 + i},
                    "valid_from": "2026-06-01",
                }
            ).encode()
            for i in range(n)
        ]
        started = time.perf_counter()
        accepted = post_all(options.port, keys["02"], "/api/v1/copies", copies)
        posted = time.perf_counter() - started
        delivered = posted + wait_until(
            "SELECT count(*) FROM linkage_copy WHERE status = 'registered'", n, options.timeout
        )
        inquiries = [
            json.dumps(
                {
                    "event_id": f"inquiry-{i}",
                    "number_system": "04",
                    "address_number": f"77{i:07d}",
                    "procedure": "child_allowance_payment",
                    "data_set": "local_tax_income",
                    "provider": CHIYODA,
                }
            ).encode()
            for i in range(n)
        ]
        started = time.perf_counter()
        asked = post_all(options.port, keys["04"], "/api/v1/inquiries", inquiries)
        inquiry_posted = time.perf_counter() - started
        answered = inquiry_posted + wait_until(
            "SELECT count(*) FROM linkage_inquiry WHERE status = 'answered'", n, options.timeout
        )
    finally:
        for process in processes:
            process.terminate()
        server.terminate()
        for process in [*processes, server]:
            process.wait(timeout=30)

    print(f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d}, {os.cpu_count()} CPUs; gunicorn 4x4, "
          f"{options.workers} workers x {options.concurrency}; {n} residents")  # fmt: skip
    print(f"copies:    {accepted} accepted in {posted:.1f} s "
          f"({accepted / posted:.0f}/s by the API); "
          f"all registered on the intermediate server in {delivered:.1f} s "
          f"({n / delivered:.0f} copies/s end to end)")  # fmt: skip
    print(f"inquiries: {asked} accepted in {inquiry_posted:.1f} s; all answered in "
          f"{answered:.1f} s ({n / answered:.0f} inquiries/s end to end)")  # fmt: skip
    minutes = 100_000 / (n / delivered) / 60
    print(f"a nightly refresh of 100,000 copies at this rate: {minutes:.0f} min")


if __name__ == "__main__":
    main()
