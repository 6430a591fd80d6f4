"""GET /metrics: the work's state and the requests per endpoint, in the Prometheus format,
served only to the configured addresses or with the metrics token."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import Outage, post_change
from tests.factories import KeyedClient, address_change_body

pytestmark = pytest.mark.django_db


def scrape(**headers: Any) -> Any:
    return Client().get("/metrics", REMOTE_ADDR="127.0.0.1", **headers)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_count_the_work_and_the_requests(jyuki: KeyedClient) -> None:
    assert post_change(jyuki, address_change_body()).status_code == 201
    assert post_change(jyuki, address_change_body()).status_code == 201
    without_number = address_change_body()
    del without_number["individual_number"]
    assert post_change(jyuki, without_number).status_code == 201
    answer = scrape()
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/plain; version=")
    found = samples(answer.content.decode())
    requesting = [
        value
        for (name, labels), value in found.items()
        if name == "linkage_code_requests" and dict(labels)["status"] == "requesting"
    ]
    assert sum(requesting) == 2
    assert found[("linkage_code_request_oldest_requesting_seconds", ())] >= 0
    assert ("linkage_notices", (("state", "pending"),)) in found
    assert found[("linkage_screening_due", ())] == 1  # until the sweep screens it again
    # No check of the access records' chain yet: nothing to say about it.
    assert not any(name.startswith("linkage_audit_chain") for name, _ in found)
    requests = [
        value
        for (name, labels), value in found.items()
        if name == "linkage_http_request_duration_seconds_count"
        and dict(labels) == {"endpoint": "api-address-changes", "method": "POST", "status": "201"}
    ]
    assert requests and requests[0] >= 2
    # Paths never become labels: an integrated number must not reach the monitoring.
    assert "/api/v1/persons/" not in answer.content.decode()


def test_metrics_are_refused_elsewhere_unless_the_token_is_given(settings: Any) -> None:
    settings.METRICS_TOKEN = "metrics-secret"
    outside = Client().get("/metrics", REMOTE_ADDR="203.0.113.9")
    assert outside.status_code == 403
    wrong = Client().get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer nope")
    assert wrong.status_code == 403
    right = Client().get(
        "/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer metrics-secret"
    )
    assert right.status_code == 200
    assert b"linkage_code_requests" in right.content


def test_a_database_that_cannot_be_reached_leaves_out_its_figures_only(
    jyuki: KeyedClient, outage: Outage
) -> None:
    """During an outage the scrape still answers: the requests' latencies (the 503s among
    them) and the queues, with `linkage_database_up` 0, not a 503 page that loses them all."""
    assert post_change(jyuki, address_change_body()).status_code == 201
    assert samples(scrape().content.decode())[("linkage_database_up", ())] == 1

    outage.down()
    answer = scrape()
    outage.up()

    assert answer.status_code == 200
    found = samples(answer.content.decode())
    assert found[("linkage_database_up", ())] == 0
    assert not [name for name, _ in found if name.startswith("linkage_code_request")]
    assert any(name == "linkage_http_request_duration_seconds_count" for name, _ in found)


def test_the_last_check_of_the_access_records_chain_is_a_figure(db: None) -> None:
    """What an operator alerts on: a broken chain, or no check for two days."""
    from django.core.cache import cache

    from linkage.models import AuditChainVerification
    from linkage.selectors import WORK_FIGURES_KEY

    whole = AuditChainVerification.objects.create(records=7, last_hash="0" * 64, holds=True)
    found = samples(scrape().content.decode())
    assert found[("linkage_audit_chain_holds", ())] == 1
    assert found[("linkage_audit_chain_verified_records", ())] == 7
    assert found[("linkage_audit_chain_verified_timestamp_seconds", ())] == pytest.approx(
        whole.verified_at.timestamp()
    )
    AuditChainVerification.objects.create(
        records=9, last_hash="1" * 64, holds=False, broken_record_id=4, reason="changed"
    )
    cache.delete(WORK_FIGURES_KEY)  # the refresh period is over
    assert samples(scrape().content.decode())[("linkage_audit_chain_holds", ())] == 0
