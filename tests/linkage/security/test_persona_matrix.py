"""Every persona against every screen and endpoint, in one table.

The rule the table checks (linkage.roles): clerks search, view and correct; supervisors
also reveal, export, re-request and read the access records; administrators run the admin
site (users, groups, keys, tokens) and see no person anywhere; a user without a role sees
nothing; anonymous callers are sent to sign in (screens) or refused (API); a business
system's key reaches only the backbone API, for its own number system; the simulated peers
answer nobody without a peer's key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from linkage.services.backbone_clients import staff_token_create
from tests.factories import KeyedClient, address_change_body
from tests.residents import PASSWORD, Registered, register, signed_in

# Expected answers. A: the screen answers (200, or the redirect after a POST it accepted);
# L: sent to sign in; F: forbidden; U: unauthenticated (401); N: not found (a key of another
# number system asking for a person not linked to it, as SPEC 7 says).
A, L, F, U, N = "answers", "sign-in", "forbidden", "unauthenticated", "not found"


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: Callable[[Registered], str]
    data: Callable[[Registered], dict[str, Any]] | None = None
    json: bool = False


def _period() -> str:
    today = timezone.localdate().isoformat()
    return f"date_from={today}&date_to={today}"


ENDPOINTS = [
    Endpoint("dashboard", "get", lambda r: "/"),
    Endpoint("search", "get", lambda r: "/persons/?name=%E3%82%84"),
    Endpoint(
        "search by number",
        "post",
        lambda r: "/persons/by-individual-number",
        lambda r: {"individual_number": r.individual_number},
    ),
    Endpoint("person page", "get", lambda r: f"/persons/{r.integrated_number}/"),
    Endpoint(
        "reveal",
        "post",
        lambda r: f"/persons/{r.integrated_number}/reveal",
        lambda r: {"purpose": "audit"},
    ),
    Endpoint("correction form", "get", lambda r: f"/persons/{r.integrated_number}/correct"),
    Endpoint("changed residents", "get", lambda r: f"/changed-residents/?{_period()}"),
    Endpoint("export", "get", lambda r: f"/changed-residents/export?{_period()}&encoding=utf-8"),
    Endpoint("error list", "get", lambda r: "/code-requests/errors/"),
    Endpoint(
        "re-request",
        "post",
        lambda r: "/code-requests/errors/retry",
        lambda r: {"code_request": str(r.person.code_request.pk)},
    ),
    Endpoint("access records", "get", lambda r: "/audit/"),
    Endpoint("business systems", "get", lambda r: "/backbone/"),
    Endpoint("business system 04", "get", lambda r: "/backbone/04/"),
    Endpoint(
        "business system notices",
        "post",
        lambda r: "/backbone/04/notices",
        lambda r: {"event": "address.updated"},
        json=True,
    ),
    Endpoint("admin", "get", lambda r: "/admin/"),
    Endpoint("admin users", "get", lambda r: "/admin/auth/user/"),
    Endpoint("admin keys", "get", lambda r: "/admin/linkage/backboneclient/"),
    Endpoint("admin persons", "get", lambda r: "/admin/linkage/person/"),
    Endpoint("admin access records", "get", lambda r: "/admin/linkage/accessrecord/"),
    Endpoint(
        "api address change",
        "post",
        lambda r: "/api/v1/address-changes",
        lambda r: address_change_body(number_system="01"),
        json=True,
    ),
    Endpoint("api person", "get", lambda r: f"/api/v1/persons/{r.integrated_number}"),
    Endpoint("api search", "get", lambda r: "/api/v1/persons?name=%E3%82%84"),
    Endpoint(
        "api lookup",
        "post",
        lambda r: "/api/v1/persons/lookup",
        lambda r: {"individual_number": r.individual_number},
        json=True,
    ),
    Endpoint("api code requests", "get", lambda r: "/api/v1/code-requests"),
    Endpoint(
        "api moved residents",
        "get",
        lambda r: "/api/v1/moved-residents?from=2026-01-01&to=2026-01-31",
    ),
    Endpoint(
        "simulated intermediate server",
        "post",
        lambda r: "/sim/intermediate/code-status-inquiries",
        lambda r: {"lg_code": "141003", "integrated_numbers": [r.integrated_number]},
        json=True,
    ),
]

PERSONAS = [
    "anonymous",
    "no role",
    "clerk",
    "supervisor",
    "administrator",
    "clerk token",
    "administrator token",
    "key 01",
    "key 02",
]

# The backbone API takes a business system's key only: a session or a staff token is no
# credential there (401). The staff API takes a session or a staff token, never a key.
# fmt: off
EXPECTED: dict[str, list[str]] = {
    #                                anon no-role clerk super admin c-tok a-tok key01 key02
    "dashboard":                     [L,  F,      A,    A,    F,    L,    L,    L,    L],
    "search":                        [L,  F,      A,    A,    F,    L,    L,    L,    L],
    "search by number":              [L,  F,      A,    A,    F,    L,    L,    L,    L],
    "person page":                   [L,  F,      A,    A,    F,    L,    L,    L,    L],
    "reveal":                        [L,  F,      F,    A,    F,    L,    L,    L,    L],
    "correction form":               [L,  F,      A,    A,    F,    L,    L,    L,    L],
    "changed residents":             [L,  F,      A,    A,    F,    L,    L,    L,    L],
    "export":                        [L,  F,      F,    A,    F,    L,    L,    L,    L],
    "error list":                    [L,  F,      A,    A,    F,    L,    L,    L,    L],
    "re-request":                    [L,  F,      F,    A,    F,    L,    L,    L,    L],
    "access records":                [L,  F,      F,    A,    F,    L,    L,    L,    L],
    "business systems":              [L,  F,      A,    A,    F,    L,    L,    L,    L],
    "business system 04":            [L,  F,      A,    A,    F,    L,    L,    L,    L],
    "business system notices":       [U,  U,      U,    U,    U,    U,    U,    U,    U],
    "admin":                         [L,  L,      L,    L,    A,    L,    L,    L,    L],
    "admin users":                   [L,  L,      L,    L,    A,    L,    L,    L,    L],
    "admin keys":                    [L,  L,      L,    L,    A,    L,    L,    L,    L],
    "admin persons":                 [L,  L,      L,    L,    F,    L,    L,    L,    L],
    "admin access records":          [L,  L,      L,    L,    F,    L,    L,    L,    L],
    "api address change":            [U,  U,      U,    U,    U,    U,    U,    A,    F],
    "api person":                    [U,  U,      U,    U,    U,    U,    U,    A,    N],
    "api search":                    [U,  F,      A,    A,    F,    A,    F,    U,    U],
    "api lookup":                    [U,  F,      A,    A,    F,    A,    F,    U,    U],
    "api code requests":             [U,  F,      A,    A,    F,    A,    F,    U,    U],
    "api moved residents":           [U,  F,      F,    A,    F,    F,    F,    U,    U],
    "simulated intermediate server": [U,  U,      U,    U,    U,    U,    U,    U,    U],
}
# fmt: on


def outcome(response: Any) -> str:
    status = response.status_code
    if status in (301, 302) and "login" in response.get("Location", ""):
        return L
    if status == 401:
        return U
    if status == 403:
        return F
    if status == 404:
        return N
    if status < 400:
        return A
    raise AssertionError(f"unexpected {status} at {response.request['PATH_INFO']}")


@pytest.fixture
def world(jyuki: KeyedClient, tax: KeyedClient, clerk: Any, administrator: Any, db: None) -> Any:
    from backbone.services import business_systems_connect

    # A simulated business system (福祉) with its screens; no request reaches its URLs.
    business_systems_connect(
        linkage_url="http://127.0.0.1:9",
        callback_base_url="http://127.0.0.1:9",
        names={"04": "福祉"},
    )
    registered = register(jyuki)
    from linkage.models import CodeRequest, CodeRequestStatus

    CodeRequest.objects.filter(person=registered.person).update(
        status=CodeRequestStatus.ERROR, status_changed_at=timezone.now()
    )
    from linkage.roles import SUPERVISOR, staff_user_ensure

    supervisor = staff_user_ensure(username="matrix-supervisor", password=PASSWORD, role=SUPERVISOR)
    nobody = User.objects.create_user("matrix-nobody", password=PASSWORD)
    _, clerk_token = staff_token_create(user=clerk, name="matrix")
    _, admin_token = staff_token_create(user=administrator, name="matrix")
    clients: dict[str, Client] = {
        "anonymous": Client(),
        "no role": signed_in(nobody),
        "clerk": signed_in(clerk),
        "supervisor": signed_in(supervisor),
        "administrator": signed_in(administrator),
        "clerk token": Client(HTTP_AUTHORIZATION=f"Bearer {clerk_token}"),
        "administrator token": Client(HTTP_AUTHORIZATION=f"Bearer {admin_token}"),
        "key 01": Client(HTTP_AUTHORIZATION=f"Token {jyuki.key}"),
        "key 02": Client(HTTP_AUTHORIZATION=f"Token {tax.key}"),
    }
    return registered, clients


def test_every_persona_against_every_screen_and_endpoint(world: Any) -> None:
    registered, clients = world
    assert set(EXPECTED) == {endpoint.name for endpoint in ENDPOINTS}
    wrong = _matrix_wrong(registered, clients)
    assert wrong == [], "\n".join(wrong)


def _sandbox_path(path: str) -> bool:
    return path.startswith(("/backbone/", "/sim/"))


def _matrix_wrong(registered: Any, clients: dict[str, Any], *, sandbox: bool = True) -> list[str]:
    """Each persona's outcome at each endpoint that differs from EXPECTED. Without the
    sandbox its own paths must answer 404 and every other outcome is the same."""
    wrong = []
    for endpoint in ENDPOINTS:
        for persona, expected in zip(PERSONAS, EXPECTED[endpoint.name], strict=True):
            client = clients[persona]
            path = endpoint.path(registered)
            if endpoint.method == "get":
                response = client.get(path)
            else:
                data = endpoint.data(registered) if endpoint.data else {}
                response = (
                    client.post(path, data, content_type="application/json")
                    if endpoint.json
                    else client.post(path, data)
                )
            got = outcome(response)
            if not sandbox and _sandbox_path(path):
                if response.status_code != 404:
                    wrong.append(f"{endpoint.name} as {persona}: {response.status_code}")
            elif got != expected:
                wrong.append(f"{endpoint.name} as {persona}: {got}, expected {expected}")
    return wrong


def test_a_refused_lookup_says_nothing_about_existence(world: Any, administrator: Any) -> None:
    """An administrator asking for a number gets 403 whether or not a person holds it."""
    registered, clients = world
    admin = clients["administrator"]
    for number in (registered.individual_number, "123456789018"):
        response = admin.post(
            "/api/v1/persons/lookup", {"individual_number": number}, content_type="application/json"
        )
        assert response.status_code == 403
        assert number not in response.content.decode()


def test_the_sandbox_screens_and_peers_are_gone_without_the_sandbox(
    world: Any, settings: Any
) -> None:
    """The URL configuration mounts /backbone/ and /sim/ only with SIMULATORS_ENABLED."""
    import importlib

    from django.urls import clear_url_caches

    import config.urls

    registered, clients = world
    settings.SIMULATORS_ENABLED = False
    try:
        importlib.reload(config.urls)
        clear_url_caches()
        for path in ("/backbone/", "/sim/intermediate/code-status-inquiries"):
            assert clients["supervisor"].get(path).status_code == 404
        # Every screen and endpoint as with the sandbox: the dashboard once linked to the
        # sandbox unconditionally and answered 500 in production.
        wrong = _matrix_wrong(registered, clients, sandbox=False)
        assert wrong == [], "\n".join(wrong)
    finally:
        settings.SIMULATORS_ENABLED = True
        importlib.reload(config.urls)
        clear_url_caches()
    assert clients["supervisor"].get("/backbone/").status_code == 200
    assert clients["supervisor"].get(f"/persons/{registered.integrated_number}/").status_code == 200
