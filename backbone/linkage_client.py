"""The business systems' client of linkage's REST API v1, over real HTTP.

Built on primitives.http (the same pooled client the request unit uses); unlike the
request unit, a business system shows every answer, 4xx and 5xx included, to its clerk, so
only an unreachable linkage raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from primitives.http import PeerRefused, PeerUnavailable, peer_call


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
    # A business system's key is a `Token`; a staff key (the demo's progress) a `Bearer`.
    scheme: str = "Token"

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> LinkageAnswer:
        try:
            answer = peer_call(
                method,
                f"{self.base_url.rstrip('/')}{path}",
                payload,
                timeout=self.timeout,
                headers={"Authorization": f"{self.scheme} {self.api_key}"},
            )
        except PeerRefused as refused:
            return LinkageAnswer(refused.status, refused.body)
        except PeerUnavailable as error:
            if error.answer is not None:
                return LinkageAnswer(error.answer.status, error.answer.body)
            raise LinkageUnavailable(
                f"linkage at {self.base_url} is unreachable: {error}"
            ) from error
        return LinkageAnswer(answer.status, answer.body)

    def address_change_send(self, change: dict[str, Any]) -> LinkageAnswer:
        return self._call("POST", "/api/v1/address-changes", change)

    def candidates_search(self, person: dict[str, Any]) -> LinkageAnswer:
        """名寄せ候補照会 (SPEC 10.2): who the person without a number may be."""
        return self._call("POST", "/api/v1/candidates", {"person": person})

    def person_get(self, integrated_number: str) -> LinkageAnswer:
        return self._call("GET", f"/api/v1/persons/{integrated_number}")

    def code_requests_count(self, status: str) -> int:
        """How many code requests are in `status` (a staff key: the staff API)."""
        answer = self._call("GET", f"/api/v1/code-requests?status={status}&page_size=1")
        if not answer.ok:
            raise LinkageUnavailable(f"linkage answered {answer.status} to the status query")
        return int(answer.body["count"])
