"""OpenAPI descriptions drf-spectacular cannot infer: the token scheme."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BackboneTokenScheme(OpenApiAuthenticationExtension):
    target_class = "linkage.api.authentication.BackboneTokenAuthentication"
    name = "BackboneToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`; a key is bound to one number_system.",
        }


class StaffTokenScheme(OpenApiAuthenticationExtension):
    target_class = "linkage.api.authentication.StaffTokenAuthentication"
    name = "StaffToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "a staff user's API key"}
