"""Per-key request rate limits (OWASP ASVS V11.1, V4.2): a runaway or stolen key cannot
flood linkage. Each key has its own budget, its `rate_limit` or API_RATE_LIMIT; the counts
live in the cache (CACHE_URL: Redis, to share them between processes)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from ..models import ApiKey, BackboneClient, StaffToken


class ApiKeyRateThrottle(SimpleRateThrottle):
    scope = "api_key"

    def get_rate(self) -> str:
        return settings.API_RATE_LIMIT

    def allow_request(self, request: Request, view: Any) -> bool:
        key = _key_of(request)
        if key is None:
            return True  # a session (a clerk's browser) or an anonymous request: no key
        self.rate = key.rate_limit or settings.API_RATE_LIMIT
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        key = _key_of(request)
        if key is None:
            return None
        return f"throttle:{type(key).__name__}:{key.pk}"


def _key_of(request: Request) -> ApiKey | None:
    if isinstance(request.user, BackboneClient):
        return request.user
    if isinstance(request.auth, StaffToken):
        return request.auth
    return None
