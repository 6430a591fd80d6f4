"""Structured logs across processes: the id of the HTTP request that registered a person is on
the worker's JSON lines for the code request that registration caused."""

from __future__ import annotations

import json
from typing import Any

from linkage.models import CodeRequest
from tests.chain.conftest import Chain, enrolled
from tests.conftest import post_change
from tests.factories import address_change_body, resident

REQUEST_ID = "chain-log-0123456789abcdef"


def worker_lines(chain: Chain) -> list[dict[str, Any]]:
    lines = []
    for text in chain.worker.log.read_text(errors="replace").splitlines():
        if text.startswith("{"):
            lines.append(json.loads(text))
    return lines


def test_a_request_id_reaches_the_worker_lines_of_the_tasks_it_caused(chain: Chain) -> None:
    chain.worker.kill()
    chain.worker.start(LOG_FORMAT="json", LOG_SERVICE="worker-test")
    someone = resident()
    enrolled(someone.individual_number)

    answer = post_change(
        chain.jyuki, address_change_body(resident=someone), HTTP_X_REQUEST_ID=REQUEST_ID
    )
    assert answer.status_code == 201
    chain.wait_for(
        lambda: CodeRequest.objects.filter(status="requested").exists(),
        "the code request to be confirmed",
    )
    chain.wait_for(
        lambda: any(line.get("request_id") == REQUEST_ID for line in worker_lines(chain)),
        "a worker line with the request id",
        seconds=10,
    )

    lines = worker_lines(chain)
    ours = [line for line in lines if line.get("request_id") == REQUEST_ID]
    assert all(line["service"] == "worker-test" for line in ours)
    assert any(line.get("task", "").startswith("linkage.tasks.code_request") for line in ours)
    assert {line.get("actor") for line in ours} == {f"client#{chain.jyuki.client.pk} (01)"}
    # Every line the worker wrote is JSON with the time and level, and none holds the number.
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    assert someone.individual_number not in chain.worker.log.read_text(errors="replace")
