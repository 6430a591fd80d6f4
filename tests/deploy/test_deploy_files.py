"""deploy/ as an operator installs it: the systemd units pass `systemd-analyze verify`, the
nginx configuration passes `nginx -t` and sends what the settings trust, and the example
environment files name every setting production refuses to start without."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

DEPLOY = Path(settings.BASE_DIR) / "deploy"
UNITS = ["linkage-web.service", "linkage-worker@.service", "linkage-beat.service",
         "linkage-backup.service", "linkage-backup.timer"]  # fmt: skip


HARDENED = ("User=linkage", "ProtectSystem=strict", "NoNewPrivileges=yes",
            "EnvironmentFile=/etc/linkage/keys.env", "Environment=LOG_SERVICE=")  # fmt: skip


def tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if found is None:
        pytest.fail(f"{name} is not installed: `make deploy-tools` installs it")
    return found


def installed_units(folder: Path) -> list[Path]:
    """The units with the install paths pointed at this checkout and its virtualenv."""
    venv = Path(sys.executable).parent.parent
    paths = []
    for name in UNITS:
        text = (DEPLOY / "systemd" / name).read_text()
        text = text.replace("/opt/linkage/venv", str(venv)).replace(
            "/opt/linkage/app", str(settings.BASE_DIR)
        )
        target = folder / name
        target.write_text(text)
        paths.append(target)
    return paths


def test_the_systemd_units_verify(tmp_path: Path) -> None:
    units = installed_units(tmp_path)
    instance = tmp_path / "linkage-worker@linkage.service"
    verified = [str(u) for u in units if "@." not in u.name] + [str(instance)]
    shutil.copy(tmp_path / "linkage-worker@.service", instance)
    result = subprocess.run(  # noqa: S603
        [tool("systemd-analyze"), "verify", "--man=no", *verified],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    ours = [line for line in result.stderr.splitlines() if "linkage-" in line]
    assert result.returncode == 0, result.stderr
    assert ours == [], "\n".join(ours)


def test_every_long_running_unit_is_hardened_and_reads_the_keys_apart() -> None:
    for name in ("linkage-web.service", "linkage-worker@.service", "linkage-beat.service"):
        text = (DEPLOY / "systemd" / name).read_text()
        for directive in HARDENED:
            assert directive in text, f"{name} lacks {directive}"
    backup = (DEPLOY / "systemd" / "linkage-backup.service").read_text()
    assert "keys.env" not in backup


def test_a_stopped_unit_lets_its_main_process_finish_the_work_in_hand() -> None:
    """KillMode=mixed: SIGTERM to the main process alone, which stops gunicorn's workers or
    Celery's pool gracefully. With systemd's default every process of the unit gets it at
    once: a Celery pool process then drops its task half done (measured with a real worker:
    two 4 s tasks in hand, both back in the queue; with mixed, both finished)."""
    for name in ("linkage-web.service", "linkage-worker@.service"):
        text = (DEPLOY / "systemd" / name).read_text()
        assert "\nKillMode=mixed\n" in text, name


def test_the_nginx_configuration_passes_nginx_t(tmp_path: Path) -> None:
    nginx = tool("nginx")
    subprocess.run(  # noqa: S603
        [tool("openssl"), "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-days", "1", "-subj", "/CN=linkage.city.example.lg.jp",
         "-keyout", str(tmp_path / "linkage.key"), "-out", str(tmp_path / "linkage.crt")],
        check=True,
        capture_output=True,
    )  # fmt: skip
    site = (DEPLOY / "nginx" / "linkage.conf").read_text()
    site = site.replace("/etc/linkage/tls", str(tmp_path)).replace("/var/log/nginx", str(tmp_path))
    (tmp_path / "linkage.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        "events {}\n"
        f"http {{ access_log off; include {tmp_path}/linkage.conf; }}\n"
    )
    result = subprocess.run(  # noqa: S603
        [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_nginx_sends_what_the_settings_trust_and_logs_no_query() -> None:
    site = (DEPLOY / "nginx" / "linkage.conf").read_text()
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in site
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in site
    assert "proxy_set_header X-Request-ID $request_id;" in site
    assert 'proxy_set_header X-Forwarded-Host "";' in site  # a client's own is never passed
    log_format = re.search(r"log_format linkage_access (.*?);", site, re.S)
    assert log_format is not None
    assert "$request " not in log_format.group(1) and "$args" not in log_format.group(1)
    assert "$uri" in log_format.group(1)
    # The upstream is gunicorn's bind; the proxy on the same host is a trusted proxy.
    conf = (Path(settings.BASE_DIR) / "gunicorn.conf.py").read_text()
    assert '"127.0.0.1:8000"' in conf and "server 127.0.0.1:8000;" in site


def test_the_example_environment_names_every_required_setting() -> None:
    named = set()
    for example in ("linkage.env.example", "keys.env.example"):
        for line in (DEPLOY / example).read_text().splitlines():
            if line and not line.startswith("#"):
                named.add(line.split("=", 1)[0])
    production = (Path(settings.BASE_DIR) / "config" / "settings" / "production.py").read_text()
    block = production[production.index("_missing = [") : production.index("if _missing")]
    required = set(re.findall(r'\("([A-Z_]+)[ "]', block))
    assert required, "the production settings' list of required settings was not found"
    assert required <= named | {"BLIND_INDEX_KEY"}, required - named
    backup = (DEPLOY / "backup.env.example").read_text()
    assert "KEY" not in backup.replace("BACKUP_KEEP_DAYS", "")
