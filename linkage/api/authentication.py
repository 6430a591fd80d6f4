"""`Authorization: Token <key>` for backbone systems; keys are looked up by their digest."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from ..models import BackboneClient
from ..services.backbone_clients import api_key_digest

if TYPE_CHECKING:
    from rest_framework.views import APIView

KEYWORD = "Token"


class BackboneTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[BackboneClient, None] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                "the Authorization header must be 'Token <key>'", code="malformed_authorization"
            )
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError as error:
            raise exceptions.AuthenticationFailed("the key is not ASCII", code="bad_key") from error
        client = BackboneClient.objects.filter(
            key_digest=api_key_digest(key), revoked_at__isnull=True
        ).first()
        if client is None:
            raise exceptions.AuthenticationFailed("unknown or revoked key", code="bad_key")
        return client, None

    def authenticate_header(self, request: Request) -> str:
        return KEYWORD


class IsBackboneClient(BasePermission):
    message = "this endpoint needs a backbone system's key"

    def has_permission(self, request: Request, view: APIView) -> bool:
        return isinstance(request.user, BackboneClient)
