"""Every access to a person's data is recorded: who, when, from where, what, the outcome;
never the individual number itself."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from linkage.models import AccessRecord, CodeRequest, CodeRequestStatus
from tests.conftest import api_for, bearer
from tests.factories import KeyedClient
from tests.residents import Registered, current_seq, hanako_registered, signed_in


@pytest.fixture
def hanako(jyuki: KeyedClient, tax: KeyedClient) -> Registered:
    return hanako_registered(jyuki, tax)


def last() -> AccessRecord:
    record = AccessRecord.objects.order_by("-pk").first()
    assert record is not None
    return record


def test_a_search_records_its_criteria_what_was_shown_and_the_count(
    hanako: Registered, clerk: Any
) -> None:
    signed_in(clerk).get(reverse("person_search"), {"name": "すずき", "sex": "2"})
    record = last()
    assert (record.action, record.outcome, record.user, record.username) == (
        "search",
        "ok",
        clerk,
        "clerk",
    )
    assert record.criteria == {"name": "すずき", "sex": "2"}
    assert record.integrated_numbers == [hanako.integrated_number]
    assert record.result_count == 1
    assert record.source_address == "127.0.0.1"
    assert record.path == "/persons/"


def test_a_search_by_individual_number_records_that_one_was_given_not_which(
    hanako: Registered, clerk: Any
) -> None:
    client = signed_in(clerk)
    client.post(reverse("person_search_by_number"), {"individual_number": hanako.individual_number})
    found = last()
    assert (found.criteria, found.outcome) == ({"individual_number": "(given)"}, "ok")
    assert found.integrated_numbers == [hanako.integrated_number]
    client.post(reverse("person_search_by_number"), {"individual_number": "123456789018"})
    assert last().outcome == "not_found"
    client.post(reverse("person_search_by_number"), {"individual_number": "12345"})
    assert last().outcome == "invalid"


@pytest.mark.parametrize(
    ("action", "make_request"),
    [
        ("person_view", lambda c, n: c.get(reverse("person", args=[n]))),
        ("reveal", lambda c, n: c.post(reverse("person_reveal", args=[n]), {"purpose": "audit"})),
    ],
)
def test_a_view_and_a_reveal_are_recorded(
    hanako: Registered, supervisor: Any, action: str, make_request: Any
) -> None:
    make_request(signed_in(supervisor), hanako.integrated_number)
    record = last()
    assert (record.action, record.outcome, record.username) == (action, "ok", "supervisor-1")
    assert record.integrated_numbers == [hanako.integrated_number]


def test_a_refused_reveal_is_recorded_as_denied(hanako: Registered, clerk: Any) -> None:
    response = signed_in(clerk).post(reverse("person_reveal", args=[hanako.integrated_number]))
    assert response.status_code == 403
    record = last()
    assert (record.action, record.outcome, record.username) == ("reveal", "denied", "clerk")
    assert record.integrated_numbers == [hanako.integrated_number]


def test_an_export_records_every_row_exported(hanako: Registered, supervisor: Any) -> None:
    from django.utils import timezone

    today = timezone.localdate().isoformat()
    response = signed_in(supervisor).get(
        reverse("changed_resident_export"),
        {"date_from": today, "date_to": today, "encoding": "utf-8"},
    )
    assert response.status_code == 200
    assert hanako.integrated_number.encode() in response.getvalue()
    record = last()
    assert (record.action, record.outcome) == ("export", "ok")
    assert record.integrated_numbers == [hanako.integrated_number]
    assert record.criteria == {"date_from": today, "date_to": today, "encoding": "utf-8"}


def test_a_correction_and_a_re_request_are_recorded(hanako: Registered, supervisor: Any) -> None:
    client = signed_in(supervisor)
    client.post(
        reverse("person_correction", args=[hanako.integrated_number]),
        {
            "name": "鈴木 花子",
            "name_kana": "スズキ ハナコ",
            "birth_date": "1975-06-15",
            "sex": "2",
            "address": "横浜市港北区日吉9-9-9",
            "reason": "申出による訂正",
            "based_on": current_seq(hanako.integrated_number),
            "step": "confirm",
        },
    )
    assert (last().action, last().integrated_numbers) == (
        "correction",
        [hanako.integrated_number],
    )
    code_request = CodeRequest.objects.get(person=hanako.person)
    CodeRequest.objects.filter(pk=code_request.pk).update(status=CodeRequestStatus.ERROR)
    client.post(reverse("code_request_errors_retry"), {"code_request": [code_request.pk]})
    assert (last().action, last().integrated_numbers, last().result_count) == (
        "retry",
        [hanako.integrated_number],
        1,
    )


def test_api_reads_and_failed_authentications_are_recorded(
    hanako: Registered, jyuki: KeyedClient, clerk: Any
) -> None:
    api_for(jyuki).get(f"/api/v1/persons/{hanako.integrated_number}")
    record = last()
    assert (record.action, record.outcome, record.client, record.user) == (
        "api_read",
        "ok",
        jyuki.client,
        None,
    )
    assert record.integrated_numbers == [hanako.integrated_number]

    bearer(clerk).get("/api/v1/persons", {"name": "はなこ"})
    assert (last().action, last().user, last().criteria) == ("api_read", clerk, {"name": "はなこ"})
    assert last().integrated_numbers == [hanako.integrated_number]

    wrong = api_for(None)
    wrong.credentials(HTTP_AUTHORIZATION="Token not-a-key")
    assert wrong.get(f"/api/v1/persons/{hanako.integrated_number}").status_code == 401
    assert (last().action, last().outcome, last().criteria) == (
        "api_auth_failed",
        "denied",
        {"code": "bad_key"},
    )
    assert bearer(clerk).get("/api/v1/moved-residents").status_code == 403
    assert (last().action, last().outcome, last().user) == ("api_read", "denied", clerk)


def test_a_failed_sign_in_is_recorded_without_the_password(db: None) -> None:
    Client().post(reverse("login"), {"username": "someone", "password": "guessed-secret"})
    record = last()
    assert (record.action, record.outcome, record.username) == (
        "sign_in_failed",
        "denied",
        "someone",
    )
    assert "guessed-secret" not in json.dumps(
        {f.name: str(getattr(record, f.name)) for f in AccessRecord._meta.fields}
    )


def test_no_record_holds_an_individual_number(
    hanako: Registered, supervisor: Any, jyuki: KeyedClient
) -> None:
    client = signed_in(supervisor)
    client.post(reverse("person_search_by_number"), {"individual_number": hanako.individual_number})
    client.post(reverse("person_reveal", args=[hanako.integrated_number]), {"purpose": "audit"})
    bearer(supervisor).post(
        "/api/v1/persons/lookup", {"individual_number": hanako.individual_number}, format="json"
    )
    dumped = json.dumps(list(AccessRecord.objects.values()), default=str, ensure_ascii=False)
    assert AccessRecord.objects.count() >= 3
    assert hanako.individual_number not in dumped
