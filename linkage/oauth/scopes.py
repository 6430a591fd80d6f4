"""Scopes `<業務システムID>:<resource>:<operation>` (SPEC 12).

The 業務システムID of a backbone system is its number system (`01` 住基, `02` 税 …), the one
identifier of a business system the contract knows; a client is granted the scopes of its own
number system only. A token without an explicit scope request gets all of them.
"""

from __future__ import annotations

from collections.abc import Iterable

# What a backbone system may do on linkage's v1 API: resource -> operations.
RESOURCES: dict[str, tuple[str, ...]] = {
    "address-changes": ("write",),
    "candidates": ("read",),
    "copies": ("write", "read"),
    "exchange-records": ("read",),
    "inquiries": ("write", "read"),
    "persons": ("read",),
}


def scope_name(number_system: str, resource: str, operation: str) -> str:
    return f"{number_system}:{resource}:{operation}"


def scopes_of(number_system: str) -> list[str]:
    """Every scope a client of this number system may be granted, in a stable order."""
    return [
        scope_name(number_system, resource, operation)
        for resource, operations in RESOURCES.items()
        for operation in operations
    ]


def scope_parse(requested: str | None) -> list[str]:
    """A space-separated scope parameter (RFC 6749 section 3.3) as a list, order kept."""
    seen: dict[str, None] = {}
    for item in (requested or "").split():
        seen.setdefault(item, None)
    return list(seen)


def scope_text(scopes: Iterable[str]) -> str:
    return " ".join(scopes)
