"""GET /api/v1/code-requests: the error list for staff (confirmation unit 42)."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from linkage.models import CodeRequest, CodeRequestStatus, StaffToken
from linkage.services.backbone_clients import staff_token_create
from tests.conftest import api_for, bearer, post_change
from tests.factories import KeyedClient, address_change_body

pytestmark = pytest.mark.django_db
URL = "/api/v1/code-requests"


def persons(jyuki: KeyedClient, count: int) -> list[str]:
    return [
        post_change(jyuki, address_change_body()).json()["integrated_number"] for _ in range(count)
    ]


def fail(integrated_number: str, reason: str) -> None:
    CodeRequest.objects.filter(person__integrated_number=integrated_number).update(
        status=CodeRequestStatus.ERROR, last_error=reason
    )


def test_the_error_list_shows_failed_requests_with_their_reason(
    jyuki: KeyedClient, staff_user: Any
) -> None:
    numbers = persons(jyuki, 3)
    fail(numbers[1], "individual number not registered")

    answer = bearer(staff_user).get(URL, {"status": "error"})

    assert answer.status_code == 200
    body = answer.json()
    assert body["count"] == 1
    [item] = body["results"]
    assert item["integrated_number"] == numbers[1]
    assert item["status"] == "error"
    assert item["last_error"] == "individual number not registered"
    assert bearer(staff_user).get(URL).json()["count"] == 3


def test_an_unknown_status_is_400(staff_user: Any) -> None:
    answer = bearer(staff_user).get(URL, {"status": "lost"})
    assert answer.status_code == 400
    assert answer["Content-Type"] == "application/problem+json"
    assert answer.json()["errors"][0]["field"] == "status"


def test_only_permitted_staff_may_read_it(
    jyuki: KeyedClient, staff_user: Any, staff_without_permission: Any
) -> None:
    assert APIClient().get(URL).status_code == 401
    assert api_for(jyuki).get(URL).status_code == 401  # a backbone key is not a staff key
    assert bearer(staff_without_permission).get(URL).status_code == 403
    token, key = staff_token_create(user=staff_user, name="revoked")
    StaffToken.objects.filter(pk=token.pk).update(revoked_at=token.created_at)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get(URL).status_code == 401


def test_a_signed_in_staff_session_may_read_it(staff_user: Any) -> None:
    client = APIClient()
    client.force_login(staff_user)
    assert client.get(URL).status_code == 200


def test_the_list_does_not_grow_queries_with_rows(
    jyuki: KeyedClient, staff_user: Any, django_assert_max_num_queries: Any
) -> None:
    persons(jyuki, 12)
    client = bearer(staff_user)
    # 5 for the list, 4 or 5 for its access record (savepoint, the chain's lock on
    # PostgreSQL, chain head, insert, release).
    with django_assert_max_num_queries(10):
        assert client.get(URL).json()["count"] == 12


def test_create_staff_token_prints_a_working_key(staff_user: Any) -> None:
    out = StringIO()
    call_command("create_staff_token", "supervisor", "export", stdout=out)
    key = out.getvalue().strip().splitlines()[-1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get(URL).status_code == 200
    assert key not in StaffToken.objects.get().key_digest


def test_an_offset_no_time_zone_has_is_400_not_a_server_error(staff_user: Any) -> None:
    """Found by schemathesis on PostgreSQL, which refuses offsets beyond ±16 hours."""
    answer = bearer(staff_user).get(URL, {"changed_from": "2026-12-02T11:16:25+22:35"})
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["field"] == "changed_from"
    assert (
        bearer(staff_user).get(URL, {"changed_from": "2026-12-02T11:16:25+14:00"}).status_code
        == 200
    )
