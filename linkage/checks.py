"""Start-up checks: the process refuses to run with a misconfigured municipality or keys."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from primitives.crypto import keyring
from primitives.numbers import is_ascii_digits, is_valid_lg_code


def lg_code_validate() -> None:
    """Raise at start-up when LG_CODE is not a valid local government code (SPEC 4.2)."""
    if not is_valid_lg_code(settings.LG_CODE):
        raise ImproperlyConfigured(
            "LG_CODE must be a 6-digit local government code with a valid check digit "
            f"(e.g. 141003); got {settings.LG_CODE!r}"
        )


@checks.register(checks.Tags.security)
def key_material_check(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    try:
        keyring.cache_clear()
        keyring()
    except ImproperlyConfigured as error:
        return [checks.Error(str(error), id="linkage.E001")]
    return []


@checks.register()
def number_systems_check(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    return [
        checks.Error(f"NUMBER_SYSTEMS key {code!r} is not 2 digits", id="linkage.E002")
        for code in settings.NUMBER_SYSTEMS
        if not is_ascii_digits(code, 2)
    ]


@checks.register(checks.Tags.security, deploy=True)
def sandbox_off_check(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    """The simulators answer without the real peers' controls: never in a deployment."""
    if settings.SIMULATORS_ENABLED:
        return [
            checks.Error(
                "SIMULATORS_ENABLED is on: the sandbox's simulated business systems and "
                "national side are served (/backbone/, /sim/)",
                hint="Unset SIMULATORS_ENABLED in production; point INTERMEDIATE_URL and "
                "GATEWAY_URL at the real peers.",
                id="linkage.E010",
            )
        ]
    return []


@checks.register(checks.Tags.security)
def trusted_proxies_check(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    """TRUSTED_PROXIES must name addresses or networks (linkage.proxy believes them)."""
    from .proxy import proxy_network

    wrong = []
    for proxy in settings.TRUSTED_PROXIES:
        try:
            proxy_network(proxy)
        except ValueError:
            wrong.append(proxy)
    return [
        checks.Error(f"TRUSTED_PROXIES entry {proxy!r} is not an address", id="linkage.E011")
        for proxy in wrong
    ]


@checks.register(checks.Tags.security)
def oauth_lifetimes_check(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    """Access tokens live minutes, at most an hour (SPEC 12); assertions a few minutes."""
    bounds = (
        ("OAUTH_ACCESS_TOKEN_SECONDS", 3600, "linkage.E012"),
        ("OAUTH_ASSERTION_MAX_SECONDS", 900, "linkage.E013"),
    )
    return [
        checks.Error(f"{name} is {getattr(settings, name)}; it must be 1-{limit}", id=check_id)
        for name, limit, check_id in bounds
        if not 0 < getattr(settings, name) <= limit
    ]
