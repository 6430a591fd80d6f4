"""authlib's authorization server, wired to linkage's OAuth clients and tokens.

authlib (RFC 6749, 7523, 7662) does the protocol: the token request's parsing, client
authentication by `client_secret_basic` and by a JWT assertion, the claims' checks (`iss` =
`sub`, `aud`, `exp`, `jti` present), the error answers of RFC 6749 section 5.2 and
introspection. What is ours: the clients and tokens in our tables, HS256 with the client's
sealed secret (both secrets during a rotation's grace period), the `jti` kept until the
assertion expires and refused a second time by a unique constraint, an upper bound on `exp`,
scopes per number system, and an access record for every token issued or refused.
"""

from __future__ import annotations

import datetime
import hmac
import re
import secrets
import time
from collections.abc import Callable
from typing import Any

from authlib.integrations.django_oauth2 import AuthorizationServer
from authlib.integrations.django_oauth2.requests import DjangoOAuth2Request
from authlib.oauth2.rfc6749 import (
    InvalidClientError,
    InvalidScopeError,
    OAuth2Error,
    OAuth2Request,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc6749.authenticate_client import authenticate_client_secret_basic
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from ..models import AccessAction, AccessOutcome, OAuthAccessToken, OAuthAssertionUse, OAuthClient
from ..services.audit import access_record
from ..services.oauth_clients import access_token_store, token_digest
from .scopes import scope_parse, scope_text, scopes_of

# A scope token as RFC 6749 section 3.3 defines it, of a length a scope of ours could have.
SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]{1,64}")
CLIENT_SECRET_JWT = "client_secret_jwt"  # noqa: S105 (a method name, RFC 7591)
CLIENT_SECRET_BASIC = "client_secret_basic"  # noqa: S105 (a method name, RFC 7591)
AUTH_METHODS = [CLIENT_SECRET_JWT, CLIENT_SECRET_BASIC]


class Client:
    """An OAuth client as authlib asks of one (its ClientMixin protocol)."""

    def __init__(self, model: OAuthClient) -> None:
        self.model = model

    def get_client_id(self) -> str:
        return self.model.client_id

    def get_allowed_scope(self, scope: str | None) -> str:
        allowed = scopes_of(self.model.backbone_client.number_system)
        requested = scope_parse(scope)
        return scope_text([s for s in requested if s in allowed] if requested else allowed)

    def check_client_secret(self, client_secret: str) -> bool:
        return any(
            hmac.compare_digest(client_secret.encode(), secret.encode())
            for secret in self.model.secrets()
        )

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in AUTH_METHODS

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == ClientCredentialsGrant.GRANT_TYPE

    def secret_keys(self) -> list[OctKey]:
        return [OctKey.import_key(secret) for secret in self.model.secrets()]


class ClientSecretJwt(JWTBearerClientAssertion):
    """`client_secret_jwt`: a JWT signed HS256 with the client secret (RFC 7523 section 2.2).

    One instance per request, so it knows the endpoint the assertion must be addressed to.
    """

    CLIENT_AUTH_METHOD = CLIENT_SECRET_JWT

    def __init__(self, audiences: list[str]) -> None:
        super().__init__(validate_jti=True, leeway=settings.OAUTH_CLOCK_LEEWAY_SECONDS)
        self.audiences = audiences
        self._client: Client | None = None  # the client the assertion names (authlib's query)

    @property
    def client(self) -> Client:
        assert self._client is not None  # noqa: S101 (set before any signature is checked)
        return self._client

    def get_audiences(self) -> list[str]:
        return self.audiences

    def resolve_client_public_key(self, client: Client) -> Any:
        return client.secret_keys()[0]

    def process_assertion_claims(self, assertion: str, resolve_key: Any) -> Any:
        """Verified with the current secret, or with the previous one during a rotation."""
        client = self.client
        failure: JoseError | None = None
        for key in client.secret_keys():
            try:
                token = jwt.decode(assertion, key, algorithms=["HS256"])
            except JoseError as error:
                failure = error
                continue
            self.verify_claims(token.claims)
            return token.claims
        assert failure is not None  # noqa: S101 (a client always has a current secret)
        raise InvalidClientError(description=f"the assertion's signature: {failure.description}")

    def __call__(self, query_client: Callable[[str], Client | None], request: Any) -> Any:
        def remembered(client_id: str) -> Client | None:
            self._client = query_client(client_id)
            return self._client

        return super().__call__(remembered, request)

    def verify_claims(self, claims: Any) -> None:
        super().verify_claims(claims)
        self._exp_near(claims)

    def _exp_near(self, claims: Any) -> float:
        """The assertion's exp, at most OAUTH_ASSERTION_MAX_SECONDS ahead (checked before its
        jti is stored, which authlib does first: a far exp, 10**30, is no datetime)."""
        exp = float(claims["exp"])
        ahead = exp - time.time()
        limit = settings.OAUTH_ASSERTION_MAX_SECONDS
        if ahead > limit + self.leeway:
            raise InvalidClientError(
                description=f"the assertion's exp is {ahead:.0f} s ahead; at most {limit} s"
            )
        return exp

    def validate_jti(self, claims: Any, jti: Any) -> bool:
        """Accepted once: the id is stored until the assertion expires."""
        if not isinstance(jti, str) or not 0 < len(jti) <= 255:
            raise InvalidClientError(description="the assertion's jti must be 1-255 characters")
        expires = datetime.datetime.fromtimestamp(
            self._exp_near(claims) + self.leeway, tz=datetime.UTC
        )
        try:
            with transaction.atomic():
                OAuthAssertionUse.objects.create(
                    client=self.client.model, jti=jti, expires_at=expires
                )
        except IntegrityError:
            return False
        return True


class ClientCredentials(ClientCredentialsGrant):
    """The only grant (SPEC 12): no users, no refresh tokens."""

    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def validate_token_request(self) -> None:
        client = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(self.GRANT_TYPE):
            raise UnauthorizedClientError()
        self.request.client = client
        requested = scope_parse(self.request.payload.scope)
        allowed = set(scopes_of(client.model.backbone_client.number_system))
        refused = [scope for scope in requested if scope not in allowed]
        if refused:
            # Named back only when each is a scope token an error description may hold (RFC
            # 6749 sections 3.3 and 5.2: printable ASCII; authlib refuses anything else with a
            # ValueError, which was a 500) and the list is short.
            named = all(SCOPE_TOKEN.fullmatch(scope) for scope in refused) and len(refused) <= 8
            which = scope_text(refused) if named else "the scopes asked for"
            raise InvalidScopeError(
                description=f"not granted to this client: {which}; "
                f"it may ask for: {scope_text(sorted(allowed))}"
            )


class Introspection(IntrospectionEndpoint):
    """RFC 7662 for clients and for other systems that check linkage's tokens: any active
    OAuth client may ask; the answer says `active: false` for anything not usable now."""

    CLIENT_AUTH_METHODS = AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        """The token if it is usable now (one query); anything else introspects inactive."""
        return OAuthAccessToken.objects.usable_with(token_digest(token_string)).first()

    def check_permission(self, token: Any, client: Any, request: Any) -> bool:
        return True

    def create_introspection_payload(self, token: OAuthAccessToken | None) -> dict[str, Any]:
        if token is None:
            return {"active": False}
        backbone = token.client.backbone_client
        return {
            "active": True,
            "client_id": token.client.client_id,
            "token_type": "Bearer",
            "scope": token.scope,
            "sub": token.client.client_id,
            "iss": settings.OAUTH_ISSUER or "",
            "iat": int(token.issued_at.timestamp()),
            "exp": int(token.expires_at.timestamp()),
            "number_system": backbone.number_system,
        }


class LinkageAuthorizationServer(AuthorizationServer):
    def __init__(self) -> None:
        super().__init__(OAuthClient, OAuthAccessToken)
        self.register_grant(ClientCredentials)
        self.register_endpoint(Introspection)
        self.register_client_auth_method(CLIENT_SECRET_JWT, _client_secret_jwt)
        self.register_client_auth_method(CLIENT_SECRET_BASIC, _client_secret_basic)

    def create_bearer_token_generator(self) -> BearerTokenGenerator:
        return BearerTokenGenerator(
            access_token_generator=lambda **_: _new_token(),
            refresh_token_generator=None,
            expires_generator=lambda client, grant_type: settings.OAUTH_ACCESS_TOKEN_SECONDS,
        )

    def query_client(self, client_id: str) -> Client | None:
        model = (
            OAuthClient.objects.select_related("backbone_client")
            .filter(client_id=client_id)
            .first()
        )
        if model is None or not model.usable:
            return None
        return Client(model)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> OAuthAccessToken:
        client: Client = request.client
        stored = access_token_store(
            client=client.model, token=token["access_token"], scope=token.get("scope", "")
        )
        access_record(
            action=AccessAction.OAUTH_TOKEN,
            outcome=AccessOutcome.OK,
            request=_django_request(request),
            client=client.model.backbone_client,
            criteria={
                "client_id": client.model.client_id,
                "auth_method": getattr(request, "auth_method", ""),
                "scope": stored.scope,
            },
        )
        return stored

    def handle_error_response(self, request: OAuth2Request, error: OAuth2Error) -> HttpResponse:
        client = getattr(request, "client", None)
        access_record(
            action=AccessAction.OAUTH_TOKEN,
            outcome=AccessOutcome.DENIED,
            request=_django_request(request),
            client=client.model.backbone_client if isinstance(client, Client) else None,
            criteria={
                "error": error.error or "",
                "client_id": _claimed_client_id(request),
                "grant_type": str(request.payload.grant_type or "")
                if request.payload is not None
                else "",
            },
        )
        return super().handle_error_response(request, error)


def _new_token() -> str:
    return secrets.token_urlsafe(32)


def _django_request(request: OAuth2Request) -> HttpRequest | None:
    return request._request if isinstance(request, DjangoOAuth2Request) else None


def _claimed_client_id(request: OAuth2Request) -> str:
    """The client id the request names (not yet authenticated), for the refusal's record."""
    try:
        client_id, _ = extract_basic_authorization(request.headers)
    except ValueError:
        client_id = None
    if client_id:
        return str(client_id)[:64]
    if request.payload is not None:
        return str(request.payload.data.get("client_id", ""))[:64]
    return ""


def _audiences(request: OAuth2Request) -> list[str]:
    """Where an assertion may be addressed: the endpoint it is posted to, or the token
    endpoint (RFC 7523 section 3: the authorization server), under the configured issuer
    and under the host the request reached."""
    django = _django_request(request)
    found = []
    for name in ("oauth-token", "oauth-introspect"):
        path = reverse(name)
        if settings.OAUTH_ISSUER:
            found.append(settings.OAUTH_ISSUER.rstrip("/") + path)
        if django is not None:
            found.append(django.build_absolute_uri(path))
    return found


def _client_secret_basic(query_client: Callable[[str], Client | None], request: Any) -> Any:
    """authlib's `client_secret_basic`, with a malformed header (not base64, not ASCII)
    answered `invalid_client` instead of an exception."""
    try:
        extract_basic_authorization(request.headers)
    except ValueError:
        raise InvalidClientError(
            status_code=401,
            description="the Basic credentials must be base64 of client_id:client_secret",
        ) from None
    return authenticate_client_secret_basic(query_client, request)


def _client_secret_jwt(query_client: Callable[[str], Client | None], request: Any) -> Any:
    """authlib's `client_secret_jwt` (ClientSecretJwt), with an assertion whose JSON is nested
    deeper than the decoder goes answered `invalid_client` as any other malformed assertion:
    authlib reads the unverified claims to find the client, and lets RecursionError through."""
    try:
        return ClientSecretJwt(_audiences(request))(query_client, request)
    except RecursionError:
        raise InvalidClientError(description="Invalid JWT assertion.") from None


server = LinkageAuthorizationServer()
