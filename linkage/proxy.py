"""Trust what a reverse proxy says about a request only when the proxy is ours.

TLS ends at the proxy in front of gunicorn, which says so with `X-Forwarded-Proto` and names
the client with `X-Forwarded-For`. Anyone who reaches gunicorn directly could send the same
headers, so they are believed only from TRUSTED_PROXIES; from anywhere else they are removed
before Django reads them (SECURE_PROXY_SSL_HEADER, the access records' source address).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from functools import cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse

_FORWARDED = ("HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_HOST")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def proxy_network(entry: str) -> Network:
    """A TRUSTED_PROXIES entry (an address or a network); ValueError if it is neither."""
    return ipaddress.ip_network(entry, strict=False)


@cache
def _trusted(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(proxy_network(proxy) for proxy in proxies)


def is_trusted_proxy(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _trusted(tuple(settings.TRUSTED_PROXIES)))


def _client_address(forwarded_for: str) -> str | None:
    """The address our proxy saw (the last entry: those before it are the client's claims)."""
    last = forwarded_for.rsplit(",", 1)[-1].strip()
    try:
        return str(ipaddress.ip_address(last))
    except ValueError:
        return None


class TrustedProxyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        meta = request.META
        if is_trusted_proxy(meta.get("REMOTE_ADDR", "")):
            client = _client_address(meta.get("HTTP_X_FORWARDED_FOR", ""))
            if client is not None:
                meta["REMOTE_ADDR"] = client
        else:
            for header in _FORWARDED:
                meta.pop(header, None)
        return self.get_response(request)
