from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache

from linkage.services.oauth_clients import IssuedOAuthClient, oauth_client_create


@pytest.fixture
def issued(db: None) -> IssuedOAuthClient:
    """An OAuth client of 税 (number system 02)."""
    return oauth_client_create(number_system="02", name="税 (OAuth)")


@pytest.fixture(autouse=True)
def rate_counts_cleared() -> Iterator[None]:
    """The rate limits count in the cache, which outlives a test's database."""
    cache.clear()
    yield
    cache.clear()
