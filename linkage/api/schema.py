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


# OpenAPI links (3.0 §4.7.17): what a client does next with an answer. They document the
# contract and let schemathesis chain calls in its stateful tests.
_LINKS: dict[tuple[str, str], dict[str, Any]] = {
    ("address_change_create", "201"): {
        "ReadThePerson": {
            "operationId": "person_retrieve",
            "parameters": {"integrated_number": "$response.body#/integrated_number"},
            "description": "the person the change registered, as this system sees it",
        },
    },
    ("address_change_create", "200"): {
        "ReadThePerson": {
            "operationId": "person_retrieve",
            "parameters": {"integrated_number": "$response.body#/integrated_number"},
        },
    },
}


def links_add(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the links above, on their operations' answers."""
    for path in result.get("paths", {}).values():
        for operation in path.values():
            if not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                links = _LINKS.get((operation.get("operationId", ""), str(status)))
                if links:
                    response["links"] = links
    return result
