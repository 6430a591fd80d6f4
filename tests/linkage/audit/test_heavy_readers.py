"""Heavy reading: a member of staff who opens more persons within an hour than
ACCESS_ALERT_PERSONS_PER_HOUR is shown to supervisors on the dashboard and logged at WARNING,
so the insider browsing residents out of curiosity is seen the same day."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.conf import settings as project_settings
from django.core.cache import cache
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from linkage.models import AccessAction, AccessOutcome
from linkage.selectors import heavy_readers
from linkage.services.audit import access_record, heavy_readers_report
from linkage.tasks import heavy_readers_report as report_task
from tests.conftest import bearer, post_change
from tests.factories import KeyedClient, address_change_body
from tests.residents import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def limit(settings: Any) -> int:
    settings.ACCESS_ALERT_PERSONS_PER_HOUR = 2
    return 2


def registered(jyuki: KeyedClient, count: int) -> list[str]:
    numbers = []
    for _ in range(count):
        answer = post_change(jyuki, address_change_body())
        assert answer.status_code == 201, answer.content
        numbers.append(answer.json()["integrated_number"])
    return numbers


def opened(
    user: Any, number: str, *, action: str = AccessAction.PERSON_VIEW, **kwargs: Any
) -> None:
    request = RequestFactory().get(kwargs.pop("path", f"/persons/{number}/"))
    request.user = user
    access_record(
        action=action,
        outcome=kwargs.pop("outcome", AccessOutcome.OK),
        request=request,
        integrated_numbers=[number],
        **kwargs,
    )


def test_staff_who_open_more_distinct_persons_than_the_limit_are_found(
    jyuki: KeyedClient, clerk: Any, supervisor: Any, limit: int
) -> None:
    first, second, third = registered(jyuki, 3)
    for number in (first, first, second):  # the same person twice counts once
        opened(clerk, number)
    opened(clerk, third, action=AccessAction.REVEAL, path=f"/persons/{third}/reveal")
    for number in (first, second):
        opened(supervisor, number)
    opened(supervisor, third, outcome=AccessOutcome.DENIED)  # refused: nothing was read

    found = heavy_readers()

    assert [(reader.username, reader.persons) for reader in found] == [("clerk", 3)]
    assert found[0].first_at <= found[0].last_at <= timezone.now()


def test_only_persons_opened_in_the_last_hour_count(
    jyuki: KeyedClient, clerk: Any, limit: int
) -> None:
    numbers = registered(jyuki, 3)
    for number in numbers:
        opened(clerk, number)
    assert heavy_readers()[0].persons == 3

    later = timezone.now() + datetime.timedelta(hours=1, seconds=1)
    assert heavy_readers(now=later) == []
    assert heavy_readers(threshold=3) == []  # more than the limit, not as many
    assert heavy_readers(threshold=0) == []  # 0: never


def test_lists_of_names_and_business_systems_reads_do_not_count(
    jyuki: KeyedClient, clerk: Any, limit: int
) -> None:
    numbers = registered(jyuki, 3)
    request = RequestFactory().get("/persons/", {"name": "x"})
    request.user = clerk
    for _ in range(2):  # a search shows many persons at once: a clerk's ordinary work
        access_record(
            action=AccessAction.SEARCH,
            outcome=AccessOutcome.OK,
            request=request,
            integrated_numbers=numbers,
        )
    api_list = RequestFactory().get("/api/v1/persons")
    api_list.user = clerk
    access_record(
        action=AccessAction.API_READ,
        outcome=AccessOutcome.OK,
        request=api_list,
        integrated_numbers=numbers,
    )
    for number in numbers:  # a business system's key reading persons
        access_record(
            action=AccessAction.API_READ,
            outcome=AccessOutcome.OK,
            client=jyuki.client,
            username="住基",
            integrated_numbers=[number],
        )
    assert heavy_readers() == []


def test_persons_looked_up_through_the_staff_api_count(
    jyuki: KeyedClient, supervisor: Any, limit: int
) -> None:
    bodies = [address_change_body() for _ in range(3)]
    for body in bodies:
        assert post_change(jyuki, body).status_code == 201
    api = bearer(supervisor)
    for body in bodies:
        found = api.post(
            "/api/v1/persons/lookup",
            {"individual_number": body["individual_number"]},
            format="json",
        )
        assert found.status_code == 200, found.content
    assert [(r.username, r.persons) for r in heavy_readers()] == [(supervisor.get_username(), 3)]


def test_the_report_says_who_and_how_many_never_which_persons(
    jyuki: KeyedClient, clerk: Any, limit: int, caplog: pytest.LogCaptureFixture
) -> None:
    numbers = registered(jyuki, 3)
    for number in numbers:
        opened(clerk, number)

    with caplog.at_level("WARNING", logger="linkage.services.audit"):
        assert report_task.apply().get() == 1

    [line] = [r.getMessage() for r in caplog.records if r.name == "linkage.services.audit"]
    assert line.startswith("clerk opened 3 persons in the last hour (")
    assert "ACCESS_ALERT_PERSONS_PER_HOUR is 2" in line
    assert not any(number in line for number in numbers)
    assert heavy_readers_report(now=timezone.now() + datetime.timedelta(hours=2)) == []


def test_supervisors_see_them_on_the_dashboard_clerks_do_not(
    jyuki: KeyedClient, clerk: Any, supervisor: Any, limit: int
) -> None:
    numbers = registered(jyuki, 3)
    browser = signed_in(clerk)
    for number in numbers:  # through the screens, as a clerk would
        assert browser.get(reverse("person", args=[number])).status_code == 200
    cache.clear()  # the dashboard's figures are kept for DASHBOARD_REFRESH_SECONDS

    seen = signed_in(supervisor).get(reverse("home")).content.decode()
    assert 'data-heavy-readers="1"' in seen
    assert "直近1時間に 2 人を超える宛名を開いた職員がいます" in seen
    today = timezone.localdate().isoformat()
    assert f"/audit/?username=clerk&amp;date_from={today}&amp;date_to={today}" in seen
    assert ">clerk</a>: 3 人(" in seen

    assert "data-heavy-readers" not in browser.get(reverse("home")).content.decode()

    english = signed_in(supervisor)
    english.cookies["django_language"] = "en"
    shown = english.get(reverse("home")).content.decode()
    assert "Some staff have opened more than 2 persons in the last hour." in shown
    assert ">clerk</a>: 3 persons (" in shown


def test_the_beat_runs_the_report_every_quarter_of_an_hour() -> None:
    entry = project_settings.CELERY_BEAT_SCHEDULE["heavy-readers-report"]
    assert entry["task"] == "linkage.tasks.heavy_readers_report"
    assert entry["schedule"].minute == {0, 15, 30, 45}
