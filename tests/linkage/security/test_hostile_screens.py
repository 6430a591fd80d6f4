"""Every query parameter of every screen and staff endpoint, and every form field of every
screen that takes a POST, against a corpus of hostile values: never a 5xx, and nothing
changes when the input is refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import URLResolver, get_resolver
from django.utils import timezone

from linkage.models import AddressVersion, CodeRequest, CodeRequestStatus
from tests.conftest import bearer
from tests.factories import KeyedClient
from tests.residents import Registered, register, signed_in

HOSTILE = [
    "",
    " ",
    "0",
    "-1",
    "9" * 40,
    "１２３",
    "１" * 30,
    "1e999",
    "NaN",
    "' OR 1=1 --",
    "%",
    "_",
    "\\",
    "a\x00b",
    "\x7f\x1b[31m",
    "\ufffd",
    "﷽" * 50,
    "x" * 5000,
    "9999-12-31",
    "0001-01-01",
    "2026-02-30",
    "9999-12-31T23:59:59-14:00",
    "2026-04-01T09:00:00+16:00",
    "983205673214",
    "9832 0567 3214",
    "[]",
    "{}",
    "<script>alert(1)</script>",
]

SCREENS: dict[str, list[str]] = {
    "/": ["page"],
    "/persons/": [
        "integrated_number",
        "number_system",
        "address_number",
        "name",
        "birth_date",
        "birth_date_from",
        "birth_date_to",
        "sex",
        "address",
        "ordering",
        "page",
    ],
    "/changed-residents/": ["date_from", "date_to", "page"],
    "/changed-residents/export": ["date_from", "date_to", "encoding"],
    "/code-requests/errors/": ["page"],
    "/candidates/": ["name", "name_kana", "birth_date", "sex", "address"],
    "/review/": ["state", "page"],
    "/exchange/waiting/": ["page"],
    "/audit/": [
        "action",
        "outcome",
        "username",
        "date_from",
        "date_to",
        "integrated_number",
        "page",
    ],
}
STAFF_API: dict[str, list[str]] = {
    "/api/v1/persons": [
        "integrated_number",
        "number_system",
        "address_number",
        "name",
        "birth_date",
        "sex",
        "address",
        "ordering",
        "page",
        "page_size",
    ],
    "/api/v1/code-requests": ["status", "stage", "changed_from", "changed_to", "page", "page_size"],
    "/api/v1/moved-residents": ["from", "to", "page", "page_size"],
}


@pytest.fixture
def world(jyuki: KeyedClient, supervisor: Any) -> Any:
    someone = register(jyuki)
    CodeRequest.objects.filter(person=someone.person).update(
        status=CodeRequestStatus.ERROR, status_changed_at=timezone.now()
    )
    return someone, signed_in(supervisor), bearer(supervisor)


def test_no_screen_or_staff_endpoint_answers_5xx_to_a_hostile_parameter(world: Any) -> None:
    _, browser, api = world
    failures = []
    for client, routes in ((browser, SCREENS), (api, STAFF_API)):
        for path, parameters in routes.items():
            for parameter in parameters:
                for value in HOSTILE:
                    base = {"name": "やま"} if parameter != "name" else {}
                    if path.endswith(("moved-residents", "export")):
                        base = {"from": "2026-01-01", "to": "2026-01-02"}
                    response = client.get(path, {**base, parameter: value})
                    if response.status_code >= 500:
                        failures.append(
                            f"{path}?{parameter}={value[:20]!r}: {response.status_code}"
                        )
    assert failures == []


@pytest.mark.parametrize("value", HOSTILE)
def test_the_error_list_re_request_takes_any_value(world: Any, value: str) -> None:
    someone, browser, _ = world
    response = browser.post("/code-requests/errors/retry", {"code_request": value})
    assert response.status_code == 302
    assert CodeRequest.objects.get(person=someone.person).status == CodeRequestStatus.ERROR


@pytest.mark.parametrize("field", ["name", "name_kana", "birth_date", "sex", "address", "reason"])
@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_correction_is_refused_or_stored_never_5xx(
    world: Any, field: str, value: str
) -> None:
    someone, browser, _ = world
    current = AddressVersion.objects.get(person=someone.person, is_current=True)
    data = {
        "name": current.name,
        "name_kana": current.name_kana,
        "birth_date": current.birth_date.isoformat(),
        "sex": current.sex,
        "address": current.address,
        "reason": "訂正",
        "based_on": current.history_seq,
        "step": "confirm",  # the hostile value goes as far as storing would
        field: value,
    }
    versions = AddressVersion.objects.filter(person=someone.person).count()
    response = browser.post(f"/persons/{someone.integrated_number}/correct", data)
    assert response.status_code in (200, 302, 400)
    if response.status_code != 302:
        assert AddressVersion.objects.filter(person=someone.person).count() == versions


@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_search_by_number_is_refused(world: Any, value: str) -> None:
    _, browser, api = world
    assert browser.post(
        "/persons/by-individual-number", {"individual_number": value}
    ).status_code in (
        200,
        400,
    )
    answer = api.post("/api/v1/persons/lookup", {"individual_number": value}, format="json")
    assert answer.status_code in (400, 404)


ODD_TYPES: list[Any] = [None, True, 0, -1, 10**40, 1.5, float("1e308"), [], {}, ["x"], {"a": 1}]


def test_every_field_of_an_address_change_against_the_corpus(jyuki: KeyedClient) -> None:
    """Each field, nested ones too, set to each hostile string and each JSON type: 2xx or a
    problem, never 5xx; a refused change stores nothing."""
    from tests.conftest import linkage_table_counts, post_change
    from tests.factories import ADDRESS_CHANGE_PATHS, address_change_body

    failures = []
    for path in ADDRESS_CHANGE_PATHS:
        for value in [*HOSTILE, *ODD_TYPES]:
            body = address_change_body(number_system="01")
            body["business"] = {"data_type": "household"}
            target = body
            for name in path[:-1]:
                target = target[name]
            target[path[-1]] = value
            before = linkage_table_counts()
            answer = post_change(jyuki, body)
            if answer.status_code >= 500:
                failures.append(f"{'.'.join(path)}={value!r:.30}: {answer.status_code}")
            elif answer.status_code >= 400 and linkage_table_counts() != before:
                failures.append(f"{'.'.join(path)}={value!r:.30}: refused but stored")
    assert failures == []


METHODS = ["get", "post", "put", "patch", "delete", "options", "head"]
BODIES: list[tuple[bytes, str]] = [
    (b"", "application/json"),
    (b"{", "application/json"),
    (b'{"a": [[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}', "application/json"),
    (b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}", "application/json"),  # past the decoder
    (b'{"x": "\\ud800", "a": ' + b"[" * 500 + b"]" * 500 + b"}", "application/json"),
    (b"\xff\xfe\x00garbage", "application/json"),
    (b"a=1&b=2", "application/x-www-form-urlencoded"),
    (
        b'--x\r\nContent-Disposition: form-data; name="f"\r\n\r\nv\r\n--x--',
        "multipart/form-data; boundary=x",
    ),
    (b"<xml/>", "text/xml"),
]


# A value for each path parameter of the URLconf, so that every route is reached.
PARAMETERS = {
    "item_id": "1",
    "copy_id": "C1",
    "inquiry_id": "I1",
    "reception_number": "R1",
    "uidb64": "MQ",
    "token": "x-y",
    "number_system": "01",
}


def every_route(someone: Registered) -> list[str]:
    """Every route the URLconf serves (the admin by its front page), its parameters filled
    with the registered person's numbers or a plain value: a route added later is attacked
    too."""
    found = {
        "integrated_number": someone.integrated_number,
        "merged_integrated_number": someone.integrated_number,
        "address_number": someone.address_number,
        **PARAMETERS,
    }

    def walk(patterns: list[Any], prefix: str) -> Iterator[str]:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, prefix + str(entry.pattern))
            else:
                yield prefix + str(entry.pattern)

    routes = {"/admin/"}
    for route in walk(get_resolver().url_patterns, "/"):
        if route.startswith("/admin/"):
            continue
        routes.add(re.sub(r"<(?:\w+:)?(\w+)>", lambda match: found[match.group(1)], route))
    return sorted(routes)


def test_every_route_and_method_with_odd_bodies_never_answers_5xx(
    world: Any, jyuki: KeyedClient
) -> None:
    """What a buggy client or a scanner sends: each method, each odd body, on every route of
    the product and the sandbox (every_route), as anonymous, a supervisor, a staff token and
    a key."""
    from django.test import Client

    someone, browser, api = world
    routes = every_route(someone)
    clients = {
        "anonymous": Client(),
        "supervisor": browser,
        "staff token": api,
        "key": Client(HTTP_AUTHORIZATION=f"Token {jyuki.key}"),
    }
    failures = []
    for route in routes:
        for method in METHODS:
            for body, content_type in BODIES:
                for name, client in clients.items():
                    call = getattr(client, method)
                    if method in ("get", "head", "options"):
                        response = call(route)
                    else:
                        response = call(route, body, content_type=content_type)
                    # The health check's 503 is its answer (a peer it checks is down here).
                    expected = route == "/healthz" and response.status_code == 503
                    if response.status_code >= 500 and not expected:
                        failures.append(
                            f"{method.upper()} {route} as {name}: {response.status_code}"
                        )
                if method in ("get", "head", "options"):
                    break  # no body to vary
    assert failures == []
