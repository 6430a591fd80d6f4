"""The product as deployed, attacked from outside: gunicorn with the production settings and
gunicorn.conf.py, a production Celery worker with beat, and the sandbox (simulated peers and
business systems) as separate processes reached by configuration, as real peers would be.

Residents go through the whole code chain; then an outsider, a vendor's buggy client and a
curious insider send every class of the attack's findings over real HTTP. Afterwards: no
answer was 5xx, every refusal was due, and no individual number is in any log file of any
process, in any message that went through the broker, or in a dump of the database.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest
from django.conf import settings

from backbone.services import business_systems_connect
from intermediate.services import registry_enrol
from linkage.models import CodeRequest, CodeRequestStatus, Person
from linkage.roles import ADMINISTRATOR, SUPERVISOR, staff_user_ensure
from linkage.services.backbone_clients import staff_token_create
from linkage.services.oauth_clients import oauth_client_create
from tests.chain.conftest import database_url
from tests.e2e.test_no_number_leaks import database_dump
from tests.factories import address_change_body, resident
from tests.oauth import ASSERTION_TYPE, NESTED_CLAIMS, assertion

PEER_KEY = "institution-key-of-the-test-municipality"
ATTACK_NUMBER = "983205673214"
ATTACK_FORMS = [
    ATTACK_NUMBER,
    "９８３２０５６７３２１４",
    "9832 0567 3214",
    "9832-0567-3214",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Deployment:
    linkage: str
    sandbox: str
    folder: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def logs(self) -> bytes:
        return b"".join(path.read_bytes() for path in sorted(self.folder.glob("*.log")))

    def broker_files(self) -> bytes:
        broker = self.folder / "broker"
        return b"".join(p.read_bytes() for p in broker.rglob("*") if p.is_file())

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)


def _start(deployment: Deployment, name: str, command: list[str], env: dict[str, str]) -> None:
    log = (deployment.folder / f"{name}.log").open("ab")
    deployment.processes.append(
        subprocess.Popen(  # noqa: S603 (our own commands)
            command,
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    )


def _wait_until_serving(url: str, deployment: Deployment) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(url, timeout=2)
            return
        time.sleep(0.3)
    raise AssertionError(
        f"{url} did not start:\n{deployment.logs()[-3000:].decode(errors='replace')}"
    )


@pytest.fixture
def deployment(transactional_db: None, tmp_path: Path) -> Iterator[Deployment]:
    linkage_port, sandbox_port = free_port(), free_port()
    deployment = Deployment(
        linkage=f"http://127.0.0.1:{linkage_port}",
        sandbox=f"http://127.0.0.1:{sandbox_port}",
        folder=tmp_path,
    )
    base = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "CELERY_", "GUNICORN_"))
    }
    common = {
        **base,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": "filesystem://localhost/",
        "CELERY_FILESYSTEM_DIR": str(tmp_path / "broker"),
        "CELERY_FILESYSTEM_KEEP_PROCESSED": "1",
        "LOG_LEVEL": "DEBUG",
    }
    production = {
        **common,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": "production-attack-test-secret-key-" + "x" * 40,
        # The keys of the test database's rows: the same installation.
        "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),
        "BLIND_INDEX_KEY": settings.BLIND_INDEX_KEY,
        "AUDIT_LOG_KEY": settings.AUDIT_LOG_KEY,
        "INTERMEDIATE_URL": f"{deployment.sandbox}/sim/intermediate",
        "GATEWAY_URL": f"{deployment.sandbox}/sim/gateway",
        "INTERMEDIATE_KEY": PEER_KEY,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        # No proxy in front in this test: a client's X-Forwarded-* must not be believed.
        "TRUSTED_PROXIES": "10.255.255.1",
        "CELERY_QUEUE": "linkage",
        "CODE_REQUEST_CONFIRM_EVERY": "1",
        "CODE_REQUEST_BATCH_WINDOW": "0.3",
        "GUNICORN_BIND": f"127.0.0.1:{linkage_port}",
        "GUNICORN_WORKERS": "2",
    }
    sandbox = {
        **common,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "SIMULATOR_BASE_URL": deployment.sandbox,
        "SIMULATOR_INSTITUTION_KEYS": f"{settings.LG_CODE}={PEER_KEY}",
        "CELERY_QUEUE": "sandbox",
        "GUNICORN_BIND": f"127.0.0.1:{sandbox_port}",
        "GUNICORN_WORKERS": "2",
    }
    gunicorn = [sys.executable, "-m", "gunicorn", "config.wsgi", "-c", "gunicorn.conf.py"]

    def worker(queue: str) -> list[str]:
        """Every queue of its installation (CELERY_QUEUE `queue`: `queue`, `queue.request`, …)."""
        return [
            sys.executable, "-m", "celery", "-A", "config", "worker", "-B",
            "--loglevel", "DEBUG", "--concurrency", "2",
            "--without-gossip", "--without-mingle", "-s", str(tmp_path / f"{queue}.beat"),
        ]  # fmt: skip

    try:
        _start(deployment, "linkage-gunicorn", gunicorn, production)
        _start(deployment, "sandbox-gunicorn", gunicorn, sandbox)
        _start(deployment, "linkage-worker", worker("linkage"), production)
        _start(deployment, "sandbox-worker", worker("sandbox"), sandbox)
        _wait_until_serving(f"{deployment.linkage}/api/schema/", deployment)
        _wait_until_serving(f"{deployment.sandbox}/api/schema/", deployment)
        yield deployment
    finally:
        deployment.stop()


def client(deployment: Deployment, headers: Any = None) -> httpx.Client:
    """A new connection per request: gunicorn closes an idle keep-alive connection after
    two seconds, and a request sent on it as it closes is reset, which is no answer."""
    return httpx.Client(
        base_url=deployment.linkage,
        headers=headers,
        limits=httpx.Limits(max_keepalive_connections=0),
    )


@dataclass
class Tally:
    answers: list[tuple[str, int]] = field(default_factory=list)

    def expect(self, what: str, response: httpx.Response, *statuses: int) -> httpx.Response:
        self.answers.append((what, response.status_code))
        assert response.status_code < 500, (what, response.text[:500])
        assert response.status_code in statuses, (what, response.status_code, response.text[:500])
        return response


def _wait_for(condition: Any, what: str, deployment: Deployment, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"{what}:\n{deployment.logs()[-4000:].decode(errors='replace')}")


@dataclass
class Answer:
    """What tests.linkage.security.test_persona_matrix.outcome reads of an answer."""

    status_code: int
    location: str
    path: str
    text: str = field(default="", repr=False)

    def get(self, header: str, default: str = "") -> str:
        return self.location if header == "Location" else default

    @property
    def request(self) -> dict[str, str]:
        return {"PATH_INFO": self.path}


class Persona:
    """One persona over real HTTP, as the persona matrix's test client is in process. A
    signed-in browser keeps its cookies by hand: the production cookies are Secure, and this
    deployment is reached over plain HTTP (no proxy it trusts says otherwise). Every form and
    JSON POST carries the CSRF token, as a browser's page would (a form without one is
    refused 403 before any view: checked on its own below)."""

    def __init__(self, deployment: Deployment, headers: dict[str, str] | None = None) -> None:
        self.deployment = deployment
        self.headers = headers or {}
        self.cookies: dict[str, str] = {}

    def sign_in(self, username: str, password: str) -> Persona:
        self.get("/accounts/login/")
        answer = self.post("/accounts/login/", {"username": username, "password": password})
        assert answer.status_code == 302 and "sessionid" in self.cookies, answer.text[-3000:]
        return self

    def get(self, path: str) -> Answer:
        return self._send("GET", path)

    def post(self, path: str, data: dict[str, Any], content_type: str = "") -> Answer:
        if content_type == "application/json":
            return self._send("POST", path, json=data)
        if "csrftoken" not in self.cookies:
            self.get("/accounts/login/")  # a form is posted from a page that was loaded
        token = {"csrfmiddlewaretoken": self.cookies["csrftoken"]}
        return self._send("POST", path, data={**data, **token})

    def _send(self, method: str, path: str, **body: Any) -> Answer:
        headers = dict(self.headers)
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
            headers["X-CSRFToken"] = self.cookies.get("csrftoken", "")
        with client(self.deployment) as http:
            response = http.request(method, path, headers=headers, **body)
        for cookie in response.headers.get_list("set-cookie"):
            name, _, value = cookie.split(";", 1)[0].partition("=")
            self.cookies[name.strip()] = value.strip()
        return Answer(
            response.status_code, response.headers.get("location", ""), path, response.text
        )


def _screens_walked(deployment: Deployment, keys: dict[str, str]) -> tuple[list[str], str]:
    """The persona matrix (tests/linkage/security/test_persona_matrix.py) walked from outside:
    every persona against every screen and endpoint of the production deployment, signed in
    through the sign-in page. Its differences from the matrix's expectations, and the
    individual number of the resident it walked with (searched for, revealed)."""
    from django.contrib.auth.hashers import PBKDF2PasswordHasher
    from django.contrib.auth.models import User

    from linkage.roles import CLERK
    from tests.linkage.security.test_persona_matrix import _matrix_wrong
    from tests.residents import Registered

    someone = resident()  # never enrolled nationally: the code request ends in error
    body = address_change_body(number_system="01", resident=someone)
    jyuki = client(deployment, headers={"Authorization": f"Token {keys['01']}"})
    assert jyuki.post("/api/v1/address-changes", json=body).status_code == 201
    person = Person.objects.get(
        cross_references__number_system="01",
        cross_references__address_number=body["address_number"],
    )
    _wait_for(
        lambda: CodeRequest.objects.filter(person=person, status=CodeRequestStatus.ERROR).exists(),
        "the unenrolled resident's code request in error",
        deployment,
    )
    registered = Registered(
        integrated_number=person.integrated_number,
        individual_number=someone.individual_number,
        address_number=body["address_number"],
        person=person,
    )
    password = "walk-" + "x" * 20
    users = {
        role: staff_user_ensure(username=f"walk-{role}", password=password, role=role)
        for role in (CLERK, SUPERVISOR, ADMINISTRATOR)
    }
    nobody = User.objects.create_user("walk-nobody")
    # Hashed as production verifies (the test settings hash with MD5, for speed; few rounds).
    hasher = PBKDF2PasswordHasher()
    for user in (*users.values(), nobody):
        user.password = hasher.encode(password, hasher.salt(), iterations=1000)
        user.save(update_fields=["password"])
    _, clerk_token = staff_token_create(user=users[CLERK], name="walk")
    _, admin_token = staff_token_create(user=users[ADMINISTRATOR], name="walk")
    personas = {
        "anonymous": Persona(deployment),
        "no role": Persona(deployment).sign_in("walk-nobody", password),
        "clerk": Persona(deployment).sign_in(f"walk-{CLERK}", password),
        "supervisor": Persona(deployment).sign_in(f"walk-{SUPERVISOR}", password),
        "administrator": Persona(deployment).sign_in(f"walk-{ADMINISTRATOR}", password),
        "clerk token": Persona(deployment, {"Authorization": f"Bearer {clerk_token}"}),
        "administrator token": Persona(deployment, {"Authorization": f"Bearer {admin_token}"}),
        "key 01": Persona(deployment, {"Authorization": f"Token {keys['01']}"}),
        "key 02": Persona(deployment, {"Authorization": f"Token {keys['02']}"}),
    }
    wrong = _matrix_wrong(registered, personas, sandbox=False)
    # A form posted without the CSRF token (a page of another site) is refused, signed in or not.
    forged = Persona(deployment).sign_in(f"walk-{SUPERVISOR}", password)
    reveal = f"/persons/{registered.integrated_number}/reveal"
    for persona in (forged, Persona(deployment)):
        persona.cookies.pop("csrftoken", None)
        answer = persona._send("POST", reveal, data={"purpose": "audit"})
        if answer.status_code != 403 or someone.individual_number in answer.text:
            wrong.append(f"reveal without the CSRF token: {answer.status_code}")
    return wrong, someone.individual_number


def test_the_production_deployment_under_attack_leaks_nothing_and_never_fails(
    deployment: Deployment,
) -> None:
    keys = business_systems_connect(
        linkage_url=deployment.linkage,
        callback_base_url=deployment.sandbox,
        names=settings.NUMBER_SYSTEMS,
        authentication="key",  # static keys here; tests/linkage/oauth refuse bad assertions
    )
    supervisor = staff_user_ensure(username="attack-supervisor", password="x" * 20, role=SUPERVISOR)
    administrator = staff_user_ensure(
        username="attack-admin", password="x" * 20, role=ADMINISTRATOR
    )
    _, staff_key = staff_token_create(user=supervisor, name="attack")
    _, admin_key = staff_token_create(user=administrator, name="attack")
    jyuki = client(deployment, headers={"Authorization": f"Token {keys['01']}"})
    tax = client(deployment, headers={"Authorization": f"Token {keys['02']}"})
    staff = client(deployment, headers={"Authorization": f"Bearer {staff_key}"})
    admin = client(deployment, headers={"Authorization": f"Bearer {admin_key}"})
    outsider = client(deployment)
    tally = Tally()

    # The everyday flow: residents registered by 住基 and 税, their codes acquired.
    residents = [resident() for _ in range(5)]
    for someone in residents[:4]:
        registry_enrol(individual_number=someone.individual_number)
    for n, someone in enumerate(residents):
        body = address_change_body(number_system="01", resident=someone)
        tally.expect("register", jyuki.post("/api/v1/address-changes", json=body), 201)
        if n % 2 == 0:
            moved = address_change_body(
                number_system="02", resident=someone, address_number=f"9{n:05d}"
            )
            tally.expect("税 update", tax.post("/api/v1/address-changes", json=moved), 200)
    _wait_for(
        lambda: (
            CodeRequest.objects.filter(status=CodeRequestStatus.REQUESTING).count() == 0
            and CodeRequest.objects.count() == 5
        ),
        "every code request settled",
        deployment,
    )
    assert CodeRequest.objects.filter(status=CodeRequestStatus.REQUESTED).count() == 4
    assert CodeRequest.objects.filter(status=CodeRequestStatus.ERROR).count() == 1
    person = Person.objects.order_by("pk").first()
    assert person is not None

    # An outsider: the sandbox is not served, nothing answers without a key.
    for path in ("/sim/intermediate/code-acquisition-files/R1", "/backbone/", "/backbone/01/"):
        tally.expect("sandbox gone", outsider.get(path), 404)
    tally.expect("no key", outsider.get("/api/v1/persons?name=x"), 401)
    spoofed = outsider.get("/accounts/login/", headers={"X-Forwarded-Proto": "https"})
    tally.expect("spoofed https", spoofed, 200)
    assert "strict-transport-security" not in spoofed.headers

    # OAuth (SPEC 12) at the deployment: a 国保 client as the operator makes it, then every
    # way its token request can be wrong, then its bearer token where it does not belong.
    issued = oauth_client_create(number_system="03", name="国保 (attack)")
    token_url = f"{deployment.linkage}/oauth/token"

    def token_request(client_assertion: str, **form: str) -> httpx.Response:
        return outsider.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": client_assertion,
                **form,
            },
        )

    once = assertion(issued.client_id, issued.client_secret, aud=token_url)
    token = tally.expect("token", token_request(once), 200).json()["access_token"]
    tally.expect("replayed jti", token_request(once), 400)
    for what, bad in (
        (
            "wrong aud",
            assertion(issued.client_id, issued.client_secret, aud="https://x/oauth/token"),
        ),
        ("wrong secret", assertion(issued.client_id, "not-the-secret-" * 3, aud=token_url)),
        ("expired", assertion(issued.client_id, issued.client_secret, aud=token_url, exp=1)),
        ("far exp", assertion(issued.client_id, issued.client_secret, aud=token_url, exp=10**30)),
        ("another client", assertion("03-0000000000000000", issued.client_secret, aud=token_url)),
        ("not a JWT", ATTACK_NUMBER),
        ("claims nested too deep", NESTED_CLAIMS),
    ):
        answer = tally.expect(what, token_request(bad), 400, 401)
        assert answer.json()["error"] == "invalid_client", (what, answer.text)
    tally.expect("refresh grant", token_request(once, grant_type="refresh_token"), 400)
    fresh = assertion(issued.client_id, issued.client_secret, aud=token_url)
    tally.expect("scope in Japanese", token_request(fresh, scope="業務システムID:住所:登録"), 400)
    tally.expect(
        "basic, wrong secret",
        outsider.post(
            token_url, data={"grant_type": "client_credentials"}, auth=(issued.client_id, "x")
        ),
        401,
    )
    nhi = client(deployment, headers={"Authorization": f"Bearer {token}"})
    own = address_change_body(number_system="03", address_number="3000001")
    tally.expect("bearer registers", nhi.post("/api/v1/address-changes", json=own), 201)
    other = address_change_body(number_system="01", address_number="1999999")
    tally.expect("bearer for 住基", nhi.post("/api/v1/address-changes", json=other), 403)
    # Not a staff key: the staff API does not know it at all.
    tally.expect("bearer on the staff API", nhi.get("/api/v1/code-requests"), 401)
    forged = client(deployment, headers={"Authorization": f"Bearer {'A' * 43}"})
    tally.expect("forged bearer", forged.post("/api/v1/address-changes", json=own), 401)
    secrets_issued = [issued.client_secret, token]

    # A curious insider: numbers typed into every field; an administrator's token.
    for written in ATTACK_FORMS:
        for field_name in ("name", "address", "integrated_number"):
            tally.expect(
                "number in search",
                staff.get("/api/v1/persons", params={field_name: written}),
                200,
                400,
            )
        for parameter in ("sex", "ordering"):
            answer = tally.expect(
                "number in a choice", staff.get("/api/v1/persons", params={parameter: written}), 400
            )
            assert written not in answer.text
        tally.expect(
            "number in status", staff.get("/api/v1/code-requests", params={"status": written}), 400
        )
    tally.expect(
        "lookup",
        staff.post("/api/v1/persons/lookup", json={"individual_number": person.individual_number}),
        200,
    )
    tally.expect("admin search", admin.get("/api/v1/persons", params={"name": "a"}), 403)
    tally.expect(
        "admin lookup",
        admin.post("/api/v1/persons/lookup", json={"individual_number": ATTACK_NUMBER}),
        403,
    )
    tally.expect("admin code requests", admin.get("/api/v1/code-requests"), 403)

    # A vendor's buggy client.
    body = address_change_body(number_system="01")
    for bad in ("+16:00", "-18:30", "+23:59"):
        tally.expect(
            "offset",
            jyuki.post(
                "/api/v1/address-changes", json={**body, "changed_at": f"2026-04-01T09:00:00{bad}"}
            ),
            400,
        )
    for edge in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"):
        tally.expect(
            "edge", jyuki.post("/api/v1/address-changes", json={**body, "changed_at": edge}), 400
        )
        tally.expect(
            "edge confirmed_at",
            jyuki.post(
                "/api/v1/address-changes",
                json={**body, "business": {"data_type": "household", "confirmed_at": edge}},
            ),
            400,
        )
    for where in ("top", "person", "business"):
        broken = json.loads(json.dumps(body))
        broken["business"] = {"data_type": "household"}
        (broken if where == "top" else broken[where])["\ud800"] = 1
        raw = json.dumps(broken).encode()
        tally.expect(
            "surrogate key",
            jyuki.post(
                "/api/v1/address-changes", content=raw, headers={"Content-Type": "application/json"}
            ),
            400,
        )
    nested = b'{"x": "\\ud800", "a": ' + b"[" * 500 + b"]" * 500 + b"}"
    tally.expect(
        "nested with a surrogate",
        jyuki.post(
            "/api/v1/address-changes", content=nested, headers={"Content-Type": "application/json"}
        ),
        400,
    )
    keyed = {
        **body,
        ATTACK_NUMBER: 1,
        "person": {**body["person"], "９８３２-０５６７-３２１４": "x"},
    }
    answer = tally.expect("number as key", jyuki.post("/api/v1/address-changes", json=keyed), 400)
    assert not any(form in answer.text for form in ATTACK_FORMS)
    for character in ("㍿", "ß", "ﷺ", "㌀"):
        expanding = address_change_body(number_system="01")
        expanding["person"]["name"] = character * 100
        tally.expect("nfkc", jyuki.post("/api/v1/address-changes", json=expanding), 201)
    tally.expect(
        "far period",
        staff.get("/api/v1/moved-residents", params={"from": "9999-01-01", "to": "9999-12-31"}),
        400,
    )
    tally.expect("nul", staff.get("/api/v1/persons", params={"name": "\x00"}), 400)
    big = b'{"event_id": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    too_large = jyuki.post(
        "/api/v1/address-changes", content=big, headers={"Content-Type": "application/json"}
    )
    tally.expect(
        "3 MiB",
        too_large,
        413,
    )

    def chunks(data: bytes) -> Iterator[bytes]:
        for start in range(0, len(data), 4096):
            yield data[start : start + 4096]

    fine = json.dumps(address_change_body(number_system="01")).encode()
    chunked = jyuki.post(
        "/api/v1/address-changes",
        content=chunks(fine),
        headers={"Content-Type": "application/json"},
    )
    tally.expect("chunked", chunked, 201)
    too_big = jyuki.post(
        "/api/v1/address-changes",
        content=chunks(b"[" + b"1," * 100_000 + b"1]"),
        headers={"Content-Type": "application/json"},
    )
    tally.expect("chunked too big", too_big, 413)
    assert too_big.headers["content-type"] == "application/problem+json"

    # The intermediate server's daily work (SPEC 11): a copy never carries a number, and no
    # system reads another's copies or does another's 事務.
    copy_body = {
        "event_id": "attack-copy-1",
        "number_system": "02",
        "address_number": "900000",
        "data_set": "local_tax_income",
        "record_key": "2026-1",
        "items": {"taxable_income": 3120000},
        "valid_from": "2026-06-01",
    }
    copy = tally.expect("copy", tax.post("/api/v1/copies", json=copy_body), 202).json()
    for form in ATTACK_FORMS:
        numbered = {**copy_body, "event_id": "attack-copy-2", "items": {"note": form}}
        tally.expect("number in a copy", tax.post("/api/v1/copies", json=numbered), 400)
    tally.expect("copy outsider", outsider.get(f"/api/v1/copies/{copy['copy_id']}"), 401)
    tally.expect("another's copy", jyuki.get(f"/api/v1/copies/{copy['copy_id']}"), 404)
    inquiry = {
        "event_id": "attack-inquiry-1",
        "number_system": "02",
        "address_number": "900000",
        "procedure": "child_allowance_payment",
        "data_set": "local_tax_income",
        "provider": "131016",
    }
    tally.expect("another's 事務", tax.post("/api/v1/inquiries", json=inquiry), 403)

    # Every person is still readable, the reads the attack aimed at included.
    for stored in Person.objects.all():
        tally.expect(
            "read back",
            staff.get("/api/v1/persons", params={"integrated_number": stored.integrated_number}),
            200,
        )
    tally.expect(
        "moved residents",
        staff.get("/api/v1/moved-residents", params={"from": "2026-01-01", "to": "2026-12-31"}),
        200,
    )
    assert len(tally.answers) > 60

    # Clerks, supervisors and administrators at the screens, signed in through the sign-in
    # page: in process the dashboard answered, here it once answered 500 (its link to the
    # sandbox, which production does not serve).
    wrong, walked = _screens_walked(deployment, keys)
    assert wrong == [], "\n".join(wrong)

    deployment.stop()
    numbers = {someone.individual_number for someone in residents} | {ATTACK_NUMBER, walked}
    logs = deployment.logs().decode(errors="replace")
    assert "POST /api/v1/address-changes" in logs  # the access logs were written
    assert "code_request_advance" in logs or "code_requests" in logs  # and the workers'
    broker = deployment.broker_files()
    assert broker, "the broker's messages were kept"
    dump = database_dump()
    for secret in secrets_issued:
        assert secret not in logs  # neither the client secret nor the access token
    for number in numbers:
        assert number not in logs
        assert number.encode() not in broker
        assert number.encode() not in dump
    for written in ATTACK_FORMS:
        # As typed, and as the access log carries a URL: percent-encoded.
        for form in (written, quote(written), quote_plus(written)):
            assert form not in logs, form
