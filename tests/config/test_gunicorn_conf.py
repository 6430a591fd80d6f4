"""gunicorn.conf.py, the README's production command: a local bind, forwarded headers from
the trusted proxies only, and the mask on gunicorn's own logs."""

from __future__ import annotations

import logging
import runpy
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from django.conf import settings

from linkage.logging import IndividualNumberMaskFilter, JsonFormatter

CONF = Path(settings.BASE_DIR) / "gunicorn.conf.py"


def loaded(monkeypatch: Any, **env: str) -> dict[str, Any]:
    for name in ("GUNICORN_BIND", "TRUSTED_PROXIES"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONF))


def test_it_listens_on_a_local_address_and_trusts_only_the_configured_proxies(
    monkeypatch: Any,
) -> None:
    conf = loaded(monkeypatch)
    assert conf["bind"] == ["127.0.0.1:8000"]
    assert conf["forwarded_allow_ips"] == "127.0.0.1,::1"
    conf = loaded(monkeypatch, GUNICORN_BIND="unix:/run/linkage.sock", TRUSTED_PROXIES="10.0.0.5")
    assert conf["bind"] == ["unix:/run/linkage.sock"]
    assert conf["forwarded_allow_ips"] == "10.0.0.5"


def test_gunicorns_own_handlers_get_the_mask(monkeypatch: Any) -> None:
    conf = loaded(monkeypatch)
    access, error = logging.Logger("access"), logging.Logger("error")
    access.addHandler(logging.StreamHandler())
    error.addHandler(logging.StreamHandler())
    worker = SimpleNamespace(log=SimpleNamespace(access_log=access, error_log=error))
    conf["post_fork"](None, worker)
    conf["post_fork"](None, worker)  # once only, however often
    for logger in (access, error):
        masks = [f for f in logger.handlers[0].filters if isinstance(f, IndividualNumberMaskFilter)]
        assert len(masks) == 1


def test_gunicorns_lines_are_json_unless_plain_is_asked_for(monkeypatch: Any) -> None:
    for log_format, json_expected in (("json", True), ("plain", False)):
        conf = loaded(monkeypatch, LOG_FORMAT=log_format)
        access = logging.Logger("access")
        access.addHandler(logging.StreamHandler())
        server = SimpleNamespace(log=SimpleNamespace(access_log=access, error_log=access))
        conf["when_ready"](server)
        assert isinstance(access.handlers[0].formatter, JsonFormatter) is json_expected


def test_the_access_log_names_the_path_and_request_id_never_the_query(monkeypatch: Any) -> None:
    conf = loaded(monkeypatch)
    assert "%(U)s" in conf["access_log_format"]
    assert "%(r)s" not in conf["access_log_format"]  # the request line has the query string
    assert "%(q)s" not in conf["access_log_format"]
    assert "%({x-request-id}o)s" in conf["access_log_format"]
