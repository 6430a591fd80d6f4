"""Sign-in hardening: lockout after repeated failures, idle timeout, CSRF on every form, the
Content Security Policy, secure cookies in production."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from linkage.middleware import LAST_ACTIVITY
from linkage.models import AccessRecord
from tests.conftest import PASSWORD
from tests.factories import KeyedClient
from tests.residents import hanako_registered, signed_in

LOGIN = reverse("login")


def sign_in(client: Client, username: str, password: str) -> Any:
    return client.post(LOGIN, {"username": username, "password": password})


def test_five_failures_lock_the_account_even_for_the_right_password(clerk: Any) -> None:
    browser = Client()
    for _ in range(4):
        assert sign_in(browser, "clerk", "wrong").status_code == 200  # the form again
    locked = sign_in(browser, "clerk", "wrong")
    assert locked.status_code == 429
    assert "30 分間ロックされています" in locked.content.decode()
    assert sign_in(Client(), "clerk", PASSWORD).status_code == 429  # from anywhere
    # Five wrong passwords and the refused right one.
    assert AccessRecord.objects.filter(action="sign_in_failed", username="clerk").count() == 6
    # Another account is not affected.
    assert sign_in(Client(), "other", "wrong").status_code == 200


def test_a_success_resets_the_count(clerk: Any) -> None:
    browser = Client()
    for _ in range(4):
        sign_in(browser, "clerk", "wrong")
    assert sign_in(browser, "clerk", PASSWORD).status_code == 302
    for _ in range(4):
        assert sign_in(Client(), "clerk", "wrong").status_code == 200
    assert sign_in(Client(), "clerk", PASSWORD).status_code == 302


def test_an_idle_session_ends_and_the_dashboard_refresh_does_not_keep_it(
    clerk: Any, settings: Any
) -> None:
    settings.SESSION_IDLE_SECONDS = 600
    browser = signed_in(clerk)
    assert browser.get(reverse("person_search")).status_code == 200

    session = browser.session
    session[LAST_ACTIVITY] = time.time() - 590
    session.save()
    poll = browser.get(reverse("home"), HTTP_HX_REQUEST="true", HTTP_HX_TRIGGER="dashboard-figures")
    assert poll.status_code == 200
    assert time.time() - browser.session[LAST_ACTIVITY] >= 590  # the poll is not activity

    session = browser.session
    session[LAST_ACTIVITY] = time.time() - 601
    session.save()
    expired = browser.get(reverse("person_search"))
    assert expired.status_code == 302
    assert expired["Location"].startswith(LOGIN)
    assert "_auth_user_id" not in browser.session
    assert "操作がなかったため" in browser.get(expired["Location"]).content.decode()


def test_activity_keeps_the_session(clerk: Any, settings: Any) -> None:
    settings.SESSION_IDLE_SECONDS = 600
    browser = signed_in(clerk)
    session = browser.session
    session[LAST_ACTIVITY] = time.time() - 500
    session.save()
    assert browser.get(reverse("person_search")).status_code == 200
    assert time.time() - browser.session[LAST_ACTIVITY] < 5


@pytest.fixture
def forms(jyuki: KeyedClient, tax: KeyedClient) -> list[tuple[str, dict[str, str]]]:
    number = hanako_registered(jyuki, tax).integrated_number
    return [
        (reverse("person_search_by_number"), {"individual_number": "123456789018"}),
        (reverse("person_reveal", args=[number]), {"purpose": "audit"}),
        (reverse("person_correction", args=[number]), {"reason": "x"}),
        (reverse("code_request_errors_retry"), {"code_request": "1"}),
        (reverse("set_language"), {"language": "en"}),
        (reverse("logout"), {}),
        (LOGIN, {"username": "supervisor-1", "password": PASSWORD}),
    ]


def test_every_form_needs_its_csrf_token(
    forms: list[tuple[str, dict[str, str]]], supervisor: Any
) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(supervisor)
    for url, data in forms:
        assert browser.post(url, data).status_code == 403, url


def test_pages_carry_a_strict_content_security_policy(clerk: Any) -> None:
    policy = signed_in(clerk).get(reverse("person_search"))["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
