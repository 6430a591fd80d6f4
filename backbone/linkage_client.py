"""The business systems' client of linkage's REST API v1, over real HTTP.

Built on primitives.http (the same pooled client the request unit uses); unlike the
request unit, a business system shows every answer, 4xx and 5xx included, to its clerk, so
only an unreachable linkage raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from primitives.http import PeerRefused, PeerUnavailable, peer_call

from .oauth import TokenRefused, TokenSource


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
    """Authenticates with an OAuth access token when it has a `token_source` (SPEC 12, how
    the simulated systems connect), else with its static key: a business system's key is a
    `Token`, a staff key (the demo's progress) a `Bearer`."""

    base_url: str
    api_key: str = ""
    timeout: float = 10.0
    scheme: str = "Token"
    token_source: TokenSource | None = None

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> LinkageAnswer:
        try:
            answer = self._send(method, path, payload)
            if answer.status == 401 and self.token_source is not None:
                # A token revoked or forgotten by linkage: one new token, one more try.
                answer = self._send(method, path, payload)
            return answer
        except TokenRefused as refused:
            return LinkageAnswer(
                refused.status, {"code": refused.error, "detail": str(refused), "errors": []}
            )
        except PeerUnavailable as error:
            raise LinkageUnavailable(
                f"linkage at {self.base_url} is unreachable: {error}"
            ) from error

    def _send(self, method: str, path: str, payload: dict[str, Any] | None) -> LinkageAnswer:
        if self.token_source is not None:
            credential = self.token_source.token()
            authorization = f"Bearer {credential}"
        else:
            credential, authorization = "", f"{self.scheme} {self.api_key}"
        try:
            answer = peer_call(
                method,
                f"{self.base_url.rstrip('/')}{path}",
                payload,
                timeout=self.timeout,
                headers={"Authorization": authorization},
            )
        except PeerRefused as refused:
            if refused.status == 401 and self.token_source is not None:
                self.token_source.forget(credential)
            return LinkageAnswer(refused.status, refused.body)
        except PeerUnavailable as error:
            if error.answer is None:
                raise
            return LinkageAnswer(error.answer.status, error.answer.body)
        return LinkageAnswer(answer.status, answer.body)

    def address_change_send(self, change: dict[str, Any]) -> LinkageAnswer:
        return self._call("POST", "/api/v1/address-changes", change)

    def candidates_search(self, person: dict[str, Any]) -> LinkageAnswer:
        """名寄せ候補照会 (SPEC 10.2): who the person without a number may be."""
        return self._call("POST", "/api/v1/candidates", {"person": person})

    def copy_register(self, copy: dict[str, Any]) -> LinkageAnswer:
        """副本登録 (SPEC 11): a copy of one record for the intermediate server."""
        return self._call("POST", "/api/v1/copies", copy)

    def copy_get(self, copy_id: str) -> LinkageAnswer:
        return self._call("GET", f"/api/v1/copies/{copy_id}")

    def inquiry_make(self, inquiry: dict[str, Any]) -> LinkageAnswer:
        """情報照会 (SPEC 11): ask another institution, answered later."""
        return self._call("POST", "/api/v1/inquiries", inquiry)

    def inquiry_get(self, inquiry_id: str) -> LinkageAnswer:
        return self._call("GET", f"/api/v1/inquiries/{inquiry_id}")

    def person_get(self, integrated_number: str) -> LinkageAnswer:
        return self._call("GET", f"/api/v1/persons/{integrated_number}")

    def code_requests_count(self, status: str) -> int:
        """How many code requests are in `status` (a staff key: the staff API)."""
        answer = self._call("GET", f"/api/v1/code-requests?status={status}&page_size=1")
        if not answer.ok:
            raise LinkageUnavailable(f"linkage answered {answer.status} to the status query")
        return int(answer.body["count"])
