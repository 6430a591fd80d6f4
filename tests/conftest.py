"""Shared fixtures and personas."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.db import OperationalError, connection
from rest_framework.test import APIClient

from backbone.models import BusinessSystem
from backbone.services import business_systems_connect
from linkage.roles import ADMINISTRATOR, CLERK, SUPERVISOR, staff_user_ensure
from primitives.http import peer_connections_close
from tests.factories import KeyedClient, backbone_client

ADDRESS_CHANGES_URL = "/api/v1/address-changes"


@pytest.fixture(autouse=True)
def matching_weights_read_again() -> Iterator[None]:
    """Each test's candidate searches read the weights its own database holds."""
    from linkage.matching.search import current_weights_forget

    current_weights_forget()
    yield
    current_weights_forget()


@pytest.fixture(autouse=True)
def backbone_clients_read_again() -> Iterator[None]:
    """Each test's requests and notices see the clients its own database holds."""
    from linkage.services.backbone_clients import backbone_clients_forget

    backbone_clients_forget()
    yield
    backbone_clients_forget()


@pytest.fixture(autouse=True)
def work_figures_read_again() -> Iterator[None]:
    """Each test's dashboard and scrapes read the figures of its own database, not another
    test's reading kept for the refresh period (linkage.selectors.work_figures)."""
    from django.core.cache import cache

    from linkage import guards

    cache.clear()
    guards.reset()  # a cache down in another test is not down in this one
    yield
    cache.clear()
    guards.reset()


@pytest.fixture(autouse=True)
def close_peer_connections() -> Iterator[None]:
    """Kept-alive connections to the live server would keep its threads, and their database
    sessions, alive past the test, and the test database could not be dropped."""
    yield
    peer_connections_close()


@pytest.fixture
def rate_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """The clock the rate limits count by, pinned 30 s into a minute, so that a test's few
    requests never straddle two of a key's windows; a test moves it by setting [0]. The
    counts start and end empty (every such test shares the pinned windows)."""
    from django.core.cache import cache

    now = [1_800_000_030.0]
    monkeypatch.setattr("linkage.api.throttling._now", lambda: now[0])
    cache.clear()
    yield now
    cache.clear()


@pytest.fixture
def jyuki(db: None) -> KeyedClient:
    """Persona: the resident register (住基) system's key, number system 01."""
    return backbone_client(number_system="01", name="住基")


@pytest.fixture
def tax(db: None) -> KeyedClient:
    """Persona: the tax (税) system's key, number system 02: another number system."""
    return backbone_client(number_system="02", name="税")


@pytest.fixture
def nhi(db: None) -> KeyedClient:
    """Persona: the national health insurance (国保) system's key, number system 03."""
    return backbone_client(number_system="03", name="国保")


def api_for(keyed: KeyedClient | None) -> APIClient:
    client = APIClient()
    if keyed is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {keyed.key}")
    return client


def bearer(user: Any) -> APIClient:
    """An API client with a new staff token of `user` (Authorization: Bearer)."""
    from linkage.services.backbone_clients import staff_token_create

    _, key = staff_token_create(user=user, name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def post_change(keyed: KeyedClient | None, body: Any, **kwargs: Any) -> Any:
    return api_for(keyed).post(ADDRESS_CHANGES_URL, body, format="json", **kwargs)


def linkage_table_counts() -> dict[str, int]:
    """Row counts of every linkage data table: the "nothing was stored" check. The access
    audit is apart: it records refused requests too."""
    return {
        model.__name__: model._default_manager.count()
        for model in apps.get_app_config("linkage").get_models()
        if model.__name__ != "AccessRecord"
    }


PASSWORD = "correct horse battery staple"


@pytest.fixture
def clerk(db: None) -> Any:
    """Persona: a clerk (窓口担当): search, view and correct."""
    return staff_user_ensure(username="clerk", password=PASSWORD, role=CLERK)


@pytest.fixture
def supervisor(db: None) -> Any:
    """Persona: a supervisor (監督者): also reveal, export and re-request."""
    return staff_user_ensure(username="supervisor-1", password=PASSWORD, role=SUPERVISOR)


@pytest.fixture
def administrator(db: None) -> Any:
    """Persona: a system administrator: the admin site, not the individual numbers."""
    return staff_user_ensure(username="administrator", password=PASSWORD, role=ADMINISTRATOR)


@pytest.fixture
def staff_user(db: None) -> Any:
    """Persona: a staff user allowed to read code requests (the error list)."""
    from django.contrib.auth.models import Permission, User

    user = User.objects.create_user("supervisor", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_coderequest"))
    return user


@pytest.fixture
def staff_without_permission(db: None) -> Any:
    """Persona: a staff user of another department, without that permission."""
    from django.contrib.auth.models import User

    return User.objects.create_user("other-department", password="x", is_staff=True)


@pytest.fixture
def systems(live_server: Any, transactional_db: None) -> dict[str, BusinessSystem]:
    """All four systems, each with its own linkage key and notice secret, notices to the
    live server's backbone endpoints."""
    business_systems_connect(
        linkage_url=live_server.url,
        callback_base_url=live_server.url,
        names=settings.NUMBER_SYSTEMS,
    )
    return {system.number_system: system for system in BusinessSystem.objects.all()}


@pytest.fixture
def unused_port_url() -> str:
    """A URL where nothing listens: a peer that is down."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that takes connections and never answers: a database or a Redis that hangs (a
    failover under way, a route that drops the replies)."""
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield int(listener.getsockname()[1])


@contextmanager
def http_served(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """`handler` answering on a free local port, in a thread: the base URL. Another vendor's
    peer, reached over real HTTP."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        peer_connections_close()
        server.shutdown()
        server.server_close()


class QuietHandler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@dataclass
class Redirecting:
    """A server that answers every request with `status` to `location`, as a load balancer
    does for a URL written http:// where the service answers https://; `hits` counts them."""

    url: str
    location: str = "https://example.invalid/"
    status: int = 302
    hits: int = 0


@pytest.fixture
def redirecting() -> Iterator[Redirecting]:
    served = Redirecting(url="")

    class Handler(QuietHandler):
        def _answer(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            served.hits += 1
            self.send_response(served.status)
            self.send_header("Location", served.location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = do_PUT = do_DELETE = _answer

    with http_served(Handler) as url:
        served.url = url
        yield served


@pytest.fixture(params=["refused", "silent"])
def unreachable_cache(
    request: pytest.FixtureRequest, unused_port_url: str, silent_port: int, settings: Any
) -> dict[str, Any]:
    """CACHES naming a Redis that refuses, or one that takes connections and never answers,
    with the project's timeouts."""
    location = (
        unused_port_url.replace("http://", "redis://") + "/0"
        if request.param == "refused"
        else f"redis://127.0.0.1:{silent_port}/0"
    )
    return {
        "default": {
            "BACKEND": "config.cache.RedisCache",
            "LOCATION": location,
            "OPTIONS": settings.REDIS_CACHE_OPTIONS,
        }
    }


REFUSED = 'connection failed: FATAL:  database "linkage" is not currently accepting connections'


class Outage:
    """From `down()` on, every query of this thread fails with the given error, where
    Django's backend would raise it, until `up()`."""

    def __init__(self) -> None:
        self.wrapper: Any = None

    def down(self, error: type[Exception] = OperationalError) -> None:
        def fail(*args: Any) -> None:
            raise error(REFUSED)

        self.wrapper = connection.execute_wrapper(fail)
        self.wrapper.__enter__()

    def up(self) -> None:
        if self.wrapper is not None:
            self.wrapper.__exit__(None, None, None)
            self.wrapper = None


@pytest.fixture
def outage() -> Iterator[Outage]:
    """The database lost to this thread's queries while the test says so (Outage)."""
    ended = Outage()
    yield ended
    ended.up()


@contextmanager
def held_open(begin: Callable[[], Any]) -> Iterator[None]:
    """A transaction in another thread and connection that runs `begin`, then stays open
    until the block ends: a writer that does not end soon, a sweep at work."""
    from django.db import transaction

    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                begin()
                holding.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(10), "the other transaction did not begin"
        yield
    finally:
        release.set()
        holder.join()


def run_together(jobs: list[Callable[[], Any]]) -> tuple[list[Any], list[BaseException]]:
    """Start every job at the same moment, each in its own thread and connection."""
    start = threading.Barrier(len(jobs), timeout=30)
    results: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(job: Callable[[], Any]) -> None:
        try:
            start.wait()
            value = job()
            with lock:
                results.append(value)
        except BaseException as error:  # reported to the test, which fails on it
            with lock:
                errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results, errors
