"""The backbone systems' client against a live server: real HTTP, real sockets."""

from __future__ import annotations

from typing import Any

import pytest

from backbone.linkage_client import LinkageApiClient, LinkageUnavailable
from tests.factories import address_change_body, backbone_client, resident

pytestmark = pytest.mark.django_db(transaction=True)


def test_register_update_and_read_over_http(live_server: Any) -> None:
    jyuki, tax = backbone_client(number_system="01"), backbone_client(number_system="02")
    jyuki_api = LinkageApiClient(live_server.url, jyuki.key)
    tax_api = LinkageApiClient(live_server.url, tax.key)
    someone = resident()

    registered = jyuki_api.address_change_send(address_change_body(resident=someone))
    updated = tax_api.address_change_send(address_change_body(number_system="02", resident=someone))
    assert (registered.status, updated.status) == (201, 200)
    number = registered.body["integrated_number"]
    assert updated.body["integrated_number"] == number

    read = tax_api.person_get(number)
    assert read.status == 200
    assert read.body["name"] == someone.name
    assert [link["number_system"] for link in read.body["links"]] == ["01", "02"]

    stranger = LinkageApiClient(live_server.url, "wrong-key")
    refused = stranger.address_change_send(address_change_body())
    assert refused.status == 401
    assert refused.body["errors"][0]["code"] == "bad_key"


def test_an_unreachable_server_is_reported_as_such() -> None:
    api = LinkageApiClient("http://127.0.0.1:9", "key", timeout=2)
    with pytest.raises(LinkageUnavailable, match="unreachable"):
        api.address_change_send(address_change_body())
