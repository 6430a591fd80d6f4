"""API credentials, each looked up by digest: `Token <key>` and `Bearer <OAuth access token>`
for backbone systems (SPEC 7, 12), `Bearer <key>` for staff on the staff endpoints."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from ..models import BackboneClient, OAuthAccessToken, StaffToken
from ..oauth.scopes import scope_name
from ..request_log import authenticated
from ..services.backbone_clients import api_key_digest, backbone_client_usable

if TYPE_CHECKING:
    from rest_framework.views import APIView

KEYWORD = "Token"


def key_digest_from_header(request: Request, keyword: str) -> str | None:
    """The digest of the key in `Authorization: <keyword> <key>`, None for another scheme."""
    parts = get_authorization_header(request).split()
    if not parts or parts[0].lower() != keyword.lower().encode():
        return None
    if len(parts) != 2:
        raise exceptions.AuthenticationFailed(
            f"the Authorization header must be '{keyword} <key>'", code="malformed_authorization"
        )
    try:
        return api_key_digest(parts[1].decode("ascii"))
    except UnicodeDecodeError as error:
        raise exceptions.AuthenticationFailed("the key is not ASCII", code="bad_key") from error


class BackboneTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[BackboneClient, None] | None:
        digest = key_digest_from_header(request, KEYWORD)
        if digest is None:
            return None
        client = backbone_client_usable(digest)
        if client is None:
            raise exceptions.AuthenticationFailed("unknown, expired or revoked key", code="bad_key")
        authenticated(client)
        return client, None

    def authenticate_header(self, request: Request) -> str:
        """Both schemes a business system may use (RFC 9110 11.6.1: one challenge each)."""
        return f"{KEYWORD}, {OAuthBearerAuthentication.challenge}"


class OAuthBearerAuthentication(BaseAuthentication):
    """`Authorization: Bearer <access token>` from `POST /oauth/token`: the token acts as its
    client's backbone system, exactly as that system's key would (number system, rate limit),
    within the token's scopes (`ScopePermission`)."""

    keyword = "Bearer"
    challenge = 'Bearer realm="linkage"'

    def authenticate(self, request: Request) -> tuple[BackboneClient, OAuthAccessToken] | None:
        digest = key_digest_from_header(request, self.keyword)
        if digest is None:
            return None
        token = OAuthAccessToken.objects.usable_with(digest).first()
        if token is None:
            raise exceptions.AuthenticationFailed(
                "unknown, expired or revoked access token", code="bad_token"
            )
        authenticated(token.client.backbone_client)
        return token.client.backbone_client, token

    def authenticate_header(self, request: Request) -> str:
        return self.challenge


class StaffTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <key>` for staff users' API keys."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, StaffToken] | None:
        digest = key_digest_from_header(request, self.keyword)
        if digest is None:
            return None
        token = StaffToken.objects.usable_with(digest).select_related("user").first()
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("unknown, expired or revoked key", code="bad_key")
        authenticated(token.user)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class StaffPermission(BasePermission):
    """A signed-in staff user (職員: any active user; Django's is_staff is for the admin site
    only) holding the view's `required_permission`, usually through a role group."""

    message = "this endpoint needs a staff user with the right permission"

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if isinstance(user, BackboneClient) or not getattr(user, "is_authenticated", False):
            return False
        return bool(user.has_perm(view.required_permission))  # type: ignore[attr-defined]


class IsBackboneClient(BasePermission):
    """A backbone system, by its key or by an OAuth access token holding the view's scope
    (`oauth_scope`: resource and operation). A key may do everything its system may."""

    message = "this endpoint needs a backbone system's key or access token"

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not isinstance(request.user, BackboneClient):
            return False
        token = request.auth
        if isinstance(token, OAuthAccessToken):
            needed = scope_name(request.user.number_system, *view.oauth_scope)
            if needed not in token.scopes:
                raise exceptions.PermissionDenied(
                    f"the access token lacks the scope {needed}", code="insufficient_scope"
                )
        return True
