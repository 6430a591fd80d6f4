"""The business systems' client of linkage's REST API v1, over real HTTP (stdlib only)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any


class LinkageUnavailable(Exception):
    """Linkage could not be reached; the change was not delivered and may be sent again."""


@dataclass(frozen=True)
class LinkageAnswer:
    status: int
    body: dict[str, Any]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True)
class LinkageApiClient:
    base_url: str
    api_key: str
    timeout: float = 10.0

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> LinkageAnswer:
        data = None if payload is None else json.dumps(payload, ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(  # noqa: S310 (the URL is configuration, http or https)
            f"{self.base_url.rstrip('/')}{path}",
            data=data,
            method=method,
            headers={
                "Authorization": f"Token {self.api_key}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return LinkageAnswer(response.status, json.loads(response.read() or b"{}"))
        except urllib.error.HTTPError as error:
            body = error.read()
            try:
                parsed = json.loads(body) if body else {}
            except ValueError:
                parsed = {"detail": "linkage answered with a body that is not JSON"}
            return LinkageAnswer(error.code, parsed)
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            raise LinkageUnavailable(
                f"linkage at {self.base_url} is unreachable: {error}"
            ) from error

    def address_change_send(self, change: dict[str, Any]) -> LinkageAnswer:
        return self._call("POST", "/api/v1/address-changes", change)

    def person_get(self, integrated_number: str) -> LinkageAnswer:
        return self._call("GET", f"/api/v1/persons/{integrated_number}")
