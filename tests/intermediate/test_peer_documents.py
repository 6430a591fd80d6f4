"""Each simulated peer's HTTP interface has an OpenAPI document of its own (docs/peers), so a
vendor can point its connector at the sandbox or replace a simulator with a real peer: every
path a simulator serves is documented, and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import schemathesis
import yaml
from django.conf import settings
from django.urls import URLPattern, URLResolver

from intermediate import urls

DOCS = Path(settings.BASE_DIR) / "docs" / "peers"
PEERS = {
    "intermediate": "intermediate/",
    "network": "network/",
    "national": "national/",
    "cs": "cs/",
    "gateway": "gateway/",
}


def served(prefix: str) -> set[str]:
    """The paths the simulators serve under `prefix`, as OpenAPI writes them."""
    paths = set()
    for entry in urls.urlpatterns:
        assert isinstance(entry, URLPattern | URLResolver)
        route = str(entry.pattern)
        if isinstance(entry, URLResolver) and route == prefix:
            for inner in entry.url_patterns:
                assert isinstance(inner, URLPattern)
                paths.add("/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(inner.pattern)))
        elif isinstance(entry, URLPattern) and route.startswith(prefix):
            paths.add("/" + route[len(prefix) :])
    return paths


@pytest.mark.parametrize("peer", sorted(PEERS))
def test_every_path_a_peer_serves_is_in_its_document(peer: str) -> None:
    document = yaml.safe_load((DOCS / f"{peer}.openapi.yaml").read_text(encoding="utf-8"))
    assert document["openapi"].startswith("3.0")
    assert set(document["paths"]) == served(PEERS[peer])
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            assert operation.get("summary") and operation.get("responses"), (path, method)
    # A document schemathesis can generate requests from (its references all resolve).
    schema = schemathesis.openapi.from_dict(document)
    assert len(list(schema.get_all_operations())) >= len(document["paths"])
