"""Start-up: production refuses to run without its secrets; LG_CODE is checked."""

from __future__ import annotations

import base64
import os
import subprocess
import sys

import pytest
from django.conf import settings

KEY_A = base64.urlsafe_b64encode(b"a" * 32).decode()
KEY_B = base64.urlsafe_b64encode(b"b" * 32).decode()
KEY_C = base64.urlsafe_b64encode(b"c" * 32).decode()
KEY_D = base64.urlsafe_b64encode(b"d" * 32).decode()
# What production needs besides the keys: the real peers' addresses.
PEERS = {"INTERMEDIATE_URL": "https://intermediate.example", "GATEWAY_URL": "https://gw.example"}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "SECRET_KEY",
            "FIELD_ENCRYPTION_KEYS",
            "BLIND_INDEX_KEY",
            "BLIND_INDEX_KEYS",
            "AUDIT_LOG_KEY",
            "INTERMEDIATE_URL",
            "GATEWAY_URL",
            "SIMULATORS_ENABLED",
            "LG_CODE",
            "DJANGO_SETTINGS_MODULE",
        }
    }
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        (
            {},
            "SECRET_KEY, FIELD_ENCRYPTION_KEYS, BLIND_INDEX_KEYS (or BLIND_INDEX_KEY), "
            "AUDIT_LOG_KEY, INTERMEDIATE_URL, GATEWAY_URL",
        ),
        (
            {"SECRET_KEY": "s" * 50, "BLIND_INDEX_KEY": KEY_B, "AUDIT_LOG_KEY": KEY_C, **PEERS},
            "FIELD_ENCRYPTION_KEYS",
        ),
        (
            {
                "SECRET_KEY": "s" * 50,
                "FIELD_ENCRYPTION_KEYS": KEY_A,
                "AUDIT_LOG_KEY": KEY_C,
                **PEERS,
            },
            "BLIND_INDEX_KEYS (or BLIND_INDEX_KEY)",
        ),
        (
            {
                "SECRET_KEY": "s" * 50,
                "FIELD_ENCRYPTION_KEYS": KEY_A,
                "BLIND_INDEX_KEY": KEY_B,
                **PEERS,
            },
            "AUDIT_LOG_KEY",
        ),
        (
            {
                "SECRET_KEY": "s" * 50,
                "FIELD_ENCRYPTION_KEYS": KEY_A,
                "BLIND_INDEX_KEY": KEY_B,
                "AUDIT_LOG_KEY": KEY_C,
            },
            "INTERMEDIATE_URL, GATEWAY_URL",
        ),
    ],
)
def test_production_refuses_to_start_without_its_secrets(
    given: dict[str, str], missing: str
) -> None:
    result = manage("check", DJANGO_SETTINGS_MODULE="config.settings.production", **given)
    assert result.returncode != 0
    assert f"Production settings need these environment variables: {missing}" in result.stderr


def test_production_starts_with_its_secrets() -> None:
    result = manage(
        "check",
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY="s" * 50,
        FIELD_ENCRYPTION_KEYS=f"{KEY_A},{KEY_B}",
        BLIND_INDEX_KEY=KEY_C,
        AUDIT_LOG_KEY=KEY_D,
        **PEERS,
    )
    assert result.returncode == 0, result.stderr


def test_production_refuses_malformed_keys() -> None:
    result = manage(
        "check",
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY="s" * 50,
        FIELD_ENCRYPTION_KEYS="short",
        BLIND_INDEX_KEY=KEY_B,
        AUDIT_LOG_KEY=KEY_C,
        **PEERS,
    )
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS holds a key that is not" in result.stderr


@pytest.mark.parametrize("lg_code", ["141004", "14100", "abcdef"])
def test_an_invalid_lg_code_stops_start_up(lg_code: str) -> None:
    result = manage("check", DJANGO_SETTINGS_MODULE="config.settings.local", LG_CODE=lg_code)
    assert result.returncode != 0
    assert "LG_CODE must be a 6-digit local government code" in result.stderr


def test_a_valid_lg_code_starts() -> None:
    result = manage("check", DJANGO_SETTINGS_MODULE="config.settings.local", LG_CODE="131016")
    assert result.returncode == 0, result.stderr


def test_settings_the_issue_asks_for() -> None:
    assert settings.TIME_ZONE == "Asia/Tokyo"
    assert settings.LANGUAGE_CODE == "ja"
    assert settings.USE_TZ is True
