"""Copies (副本登録, SPEC 11) reach the simulated intermediate server over real HTTP: by
integrated number only, each revision once; a copy waits for its person's code and goes out
when the confirmation unit finds it; an unavailable server loses nothing, a refusal is an
error with its reason."""

from __future__ import annotations

from typing import Any

import pytest

from intermediate.models import CodeInformation, CopyRecord
from linkage.models import CodeRequest, CodeRequestStatus, Copy
from linkage.services.copies import copies_deliver, copies_sweep
from primitives.http import PeerUnavailable
from tests.conftest import api_for, post_change
from tests.factories import KeyedClient, address_change_body, backbone_client, code_confirmed
from tests.linkage.api.test_copies import COPIES, copy_body

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def peers(live_server: Any, settings: Any) -> None:
    settings.PEER_URLS = {
        **settings.PEER_URLS,
        "intermediate": f"{live_server.url}/sim/intermediate",
    }


@pytest.fixture
def tax() -> KeyedClient:
    return backbone_client(number_system="02", name="税")


def person_with_code(tax: KeyedClient, settings: Any, address_number: str = "550001") -> str:
    """A person linked to 税 whose code both sides know; its integrated number."""
    body = address_change_body(number_system="02", address_number=address_number)
    integrated = post_change(tax, body).json()["integrated_number"]
    CodeRequest.objects.filter(person__integrated_number=integrated).update(
        status=CodeRequestStatus.REQUESTED
    )
    CodeInformation.objects.create(lg_code=settings.LG_CODE, integrated_number=integrated, code="c")
    return integrated


def registered(tax: KeyedClient, **overrides: Any) -> Copy:
    answer = api_for(tax).post(COPIES, copy_body(**overrides), format="json")
    assert answer.status_code == 202, answer.content
    return Copy.objects.get(copy_id=answer.json()["copy_id"])


def delivered() -> int:
    return copies_deliver(copy_ids=list(Copy.objects.values_list("pk", flat=True)))


def test_a_copy_reaches_the_intermediate_server_by_integrated_number_once(
    peers: None, tax: KeyedClient, settings: Any
) -> None:
    integrated = person_with_code(tax, settings)
    copy = registered(tax)
    assert delivered() == 1
    assert delivered() == 0  # taken: nothing is due any more
    record = CopyRecord.objects.get()
    assert (record.lg_code, record.copy_id, record.revision) == (
        settings.LG_CODE,
        str(copy.copy_id),
        1,
    )
    assert (record.integrated_number, record.data_set, record.items) == (
        integrated,
        "local_tax_income",
        {"fiscal_year": 2026, "taxable_income": 3120000},
    )
    copy.refresh_from_db()
    assert (copy.status, copy.delivered_revision) == ("registered", 1)
    assert copy.registered_at is not None
    # The simulator's copy holds nothing that could be an individual number.
    number = tax.client.copies.get().person.individual_number
    assert number not in str(CopyRecord.objects.values().get())

    url = f"{COPIES}/{copy.copy_id}"
    content = {"items": {"fiscal_year": 2026, "taxable_income": 1}, "valid_from": "2026-06-01"}
    api_for(tax).put(url, content, format="json")
    assert delivered() == 1
    record.refresh_from_db()
    assert (record.revision, record.items, record.withdrawn_at) == (2, content["items"], None)

    api_for(tax).delete(url)
    assert delivered() == 1
    record.refresh_from_db()
    assert record.revision == 3 and record.withdrawn_at is not None
    assert api_for(tax).get(url).json()["status"] == "withdrawn"


def test_a_copy_waits_for_its_persons_code_and_goes_out_once_it_is_acquired(
    peers: None, tax: KeyedClient, settings: Any
) -> None:
    integrated = post_change(tax, address_change_body(number_system="02", address_number="550001"))
    number = integrated.json()["integrated_number"]
    copy = registered(tax)
    assert copy.status == "waiting_for_code"
    assert delivered() == 0
    assert not CopyRecord.objects.exists()

    # The code arrives: the confirmation unit finds it on the intermediate server.
    CodeInformation.objects.create(lg_code=settings.LG_CODE, integrated_number=number, code="c")
    code_confirmed(number)
    copy.refresh_from_db()
    assert copy.status == "sent"
    assert delivered() == 1
    assert CopyRecord.objects.get().integrated_number == number


def test_an_unavailable_intermediate_server_loses_nothing(
    peers: None, tax: KeyedClient, settings: Any, live_server: Any
) -> None:
    person_with_code(tax, settings)
    copy = registered(tax)
    up = settings.PEER_URLS["intermediate"]
    settings.PEER_URLS = {
        **settings.PEER_URLS,
        "intermediate": "http://127.0.0.1:9/sim/intermediate",
    }
    with pytest.raises(PeerUnavailable):
        delivered()
    copy.refresh_from_db()
    assert (copy.status, copy.delivered_revision, copy.attempts) == ("sent", 0, 1)
    # Its message is lost too: the sweep finds it once it has waited COPY_STALLED_AFTER.
    settings.COPY_STALLED_AFTER = 0
    assert copies_sweep() == 1
    settings.PEER_URLS = {**settings.PEER_URLS, "intermediate": up}
    assert delivered() == 1
    assert CopyRecord.objects.count() == 1


def test_a_copy_the_intermediate_server_refuses_is_an_error_with_the_reason(
    peers: None, tax: KeyedClient, settings: Any
) -> None:
    integrated = person_with_code(tax, settings)
    CodeInformation.objects.filter(integrated_number=integrated).delete()  # not there after all
    copy = registered(tax)
    assert delivered() == 0
    copy.refresh_from_db()
    assert copy.status == "error"
    assert copy.last_error.startswith("code_not_acquired")
    assert api_for(tax).get(f"{COPIES}/{copy.copy_id}").json()["error"] == copy.last_error
    assert not CopyRecord.objects.exists()
