"""The write path as the API takes it, a batch of one: determination, numbering, storing
(flows F1 and F2)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import OperationalError, connection
from psycopg import errors as psycopg_errors

from linkage.api.serializers import AddressChangeInputSerializer
from linkage.models import (
    AddressChangeReceipt,
    AddressVersion,
    BusinessInformation,
    CodeRequest,
    CodeRequestStatus,
    CodeRequestTransition,
    CrossReference,
    Person,
)
from linkage.services import pipeline
from linkage.services.address_changes import (
    AddressChange,
    AddressNumberConflict,
    BasicItems,
    BusinessData,
    EventIdConflict,
)
from linkage.services.pipeline import address_change_receive
from primitives.numbers import is_valid_integrated_number
from tests.conftest import linkage_table_counts
from tests.factories import KeyedClient, address_change_body, resident

pytestmark = pytest.mark.django_db


def change_of(keyed: KeyedClient, body: dict[str, Any]) -> AddressChange:
    serializer = AddressChangeInputSerializer(data=body, context={"client": keyed.client})
    serializer.is_valid(raise_exception=True)
    return serializer.to_address_change()


def receive(keyed: KeyedClient, body: dict[str, Any]) -> Any:
    return address_change_receive(client=keyed.client, change=change_of(keyed, body))


def test_a_new_individual_number_registers_a_person(jyuki: KeyedClient) -> None:
    body = address_change_body()
    result = receive(jyuki, body)

    assert result.registered
    assert result.body["result"] == "registered"
    person = Person.objects.get()
    assert is_valid_integrated_number(person.integrated_number)
    assert result.body == {
        "result": "registered",
        "integrated_number": person.integrated_number,
        "number_system": "01",
        "address_number": body["address_number"],
        "history_seq": 1,
        "code_request_status": "requesting",
    }
    version = AddressVersion.objects.get()
    assert (version.person, version.history_seq, version.name) == (
        person,
        1,
        body["person"]["name"],
    )
    assert version.birth_date == datetime.date.fromisoformat(body["person"]["birth_date"])
    assert CrossReference.objects.get().address_number == body["address_number"]
    assert person.individual_number == body["individual_number"]
    assert person.code_request.status == CodeRequestStatus.REQUESTING


def test_a_known_individual_number_from_another_system_updates_the_same_person(
    jyuki: KeyedClient, tax: KeyedClient
) -> None:
    someone = resident()
    first = receive(jyuki, address_change_body(resident=someone))
    second = receive(tax, address_change_body(number_system="02", resident=someone))

    assert not second.registered
    assert second.body["result"] == "updated"
    assert second.body["integrated_number"] == first.body["integrated_number"]
    assert second.body["history_seq"] == 2
    assert Person.objects.count() == 1
    assert sorted(CrossReference.objects.values_list("number_system", flat=True)) == ["01", "02"]
    # F2: no second code request, and the status is left as it is (SPEC section 9).
    assert CodeRequest.objects.count() == 1
    assert CodeRequestTransition.objects.count() == 1
    assert second.body["code_request_status"] == "requesting"


def test_history_keeps_every_version_in_order(jyuki: KeyedClient) -> None:
    someone = resident()
    address_number = "700001"
    for address in ("横浜市中区1", "横浜市西区2", "横浜市南区3"):
        body = address_change_body(resident=someone, address_number=address_number)
        body["person"]["address"] = address
        receive(jyuki, body)

    versions = list(
        AddressVersion.objects.order_by("history_seq").values_list("history_seq", "address")
    )
    assert versions == [(1, "横浜市中区1"), (2, "横浜市西区2"), (3, "横浜市南区3")]
    assert CrossReference.objects.count() == 1


def test_business_items_are_kept_per_data_type(jyuki: KeyedClient) -> None:
    body = address_change_body(
        business={
            "data_type": "household",
            "confirmed_at": "2026-04-01T10:00:00+09:00",
            "items": {"household_number": "H-1", "members": 3},
        }
    )
    receive(jyuki, body)
    info = BusinessInformation.objects.get()
    assert (info.data_type, info.number_system) == ("household", "01")
    assert info.items == {"household_number": "H-1", "members": 3}
    assert info.confirmed_at == datetime.datetime(2026, 4, 1, 1, 0, tzinfo=datetime.UTC)
    assert info.address_version == AddressVersion.objects.get()


def test_the_same_event_again_returns_the_first_answer_and_changes_nothing(
    jyuki: KeyedClient,
) -> None:
    body = address_change_body()
    first = receive(jyuki, body)
    counts = linkage_table_counts()

    again = receive(jyuki, body)

    assert again == first
    assert linkage_table_counts() == counts


def test_the_same_event_id_with_another_body_is_a_conflict(jyuki: KeyedClient) -> None:
    body = address_change_body()
    receive(jyuki, body)
    counts = linkage_table_counts()
    other = {**body, "person": {**body["person"], "address": "横浜市港北区9"}}

    with pytest.raises(EventIdConflict) as raised:
        receive(jyuki, other)

    assert linkage_table_counts() == counts
    assert body["individual_number"] not in str(raised.value)


def test_event_ids_are_scoped_by_number_system(jyuki: KeyedClient, tax: KeyedClient) -> None:
    receive(jyuki, address_change_body(event_id="shared-1"))
    result = receive(tax, address_change_body(number_system="02", event_id="shared-1"))
    assert result.registered
    assert AddressChangeReceipt.objects.count() == 2


def test_an_address_number_of_another_individual_number_is_a_conflict(jyuki: KeyedClient) -> None:
    receive(jyuki, address_change_body(address_number="555"))
    counts = linkage_table_counts()
    newcomer = address_change_body(address_number="555")

    with pytest.raises(AddressNumberConflict) as raised:
        receive(jyuki, newcomer)

    assert linkage_table_counts() == counts
    assert newcomer["individual_number"] not in str(raised.value)


def test_integrated_numbers_are_distinct_and_increasing(jyuki: KeyedClient) -> None:
    numbers = [receive(jyuki, address_change_body()).body["integrated_number"] for _ in range(5)]
    assert len(set(numbers)) == 5
    assert numbers == sorted(numbers)


def test_a_failed_registration_does_not_hand_its_number_to_someone_else(jyuki: KeyedClient) -> None:
    issued = receive(jyuki, address_change_body(address_number="777")).body["integrated_number"]
    with pytest.raises(AddressNumberConflict):
        receive(jyuki, address_change_body(address_number="777"))
    later = receive(jyuki, address_change_body()).body["integrated_number"]
    assert later > issued


def test_the_individual_number_is_stored_only_encrypted(jyuki: KeyedClient) -> None:
    body = address_change_body()
    receive(jyuki, body)
    number = body["individual_number"]
    with connection.cursor() as cursor:
        for model in (Person, AddressVersion, CrossReference, AddressChangeReceipt, CodeRequest):
            cursor.execute(f"SELECT * FROM {model._meta.db_table}")  # noqa: S608
            for row in cursor.fetchall():
                assert all(number not in str(value) for value in row), model.__name__


def test_the_digest_is_that_of_the_whole_change_as_a_dict() -> None:
    """Stored receipts compare digests across releases: the content must stay asdict's."""
    import dataclasses
    import json

    from primitives.crypto import keyed_digest

    for business in (None, BusinessData("income", None, {"fiscal_year": 2026, "n": "a"})):
        change = AddressChange(
            event_id="e-1",
            number_system="02",
            address_number="7",
            individual_number="983205673214",
            changed_at=datetime.datetime(2026, 4, 1, 9, tzinfo=datetime.UTC),
            person=BasicItems("山田　太郎", datetime.date(1980, 5, 5), "1", "横浜市", "ヤマダ"),
            business=business,
        )
        content = dataclasses.asdict(change)
        del content["record_status"]  # added later, left out at their defaults
        del content["integrated_number"]
        del content["names_before"]
        del content["resolution"]
        canonical = json.dumps(content, sort_keys=True, default=str, ensure_ascii=False)
        assert change.digest() == keyed_digest(canonical.encode("utf-8"))


def _deadlocked() -> OperationalError:
    error = OperationalError("deadlock detected")
    error.__cause__ = psycopg_errors.DeadlockDetected("deadlock detected")
    return error


def test_a_batch_chosen_to_give_way_in_a_deadlock_is_decided_again(
    jyuki: KeyedClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two writers inserting the same keys in opposite orders: PostgreSQL makes one give way,
    and its batch is decided again from what the other stored (as after a unique
    constraint). Any other database error is not retried."""
    real = pipeline.storing
    failures = [_deadlocked()]

    def storing_once_deadlocked(plan: Any) -> None:
        if failures:
            raise failures.pop()
        real(plan)

    monkeypatch.setattr(pipeline, "storing", storing_once_deadlocked)
    result = address_change_receive(
        client=jyuki.client, change=change_of(jyuki, address_change_body())
    )
    assert result.registered and Person.objects.count() == 1

    failures.append(OperationalError("the server closed the connection"))
    with pytest.raises(OperationalError):
        address_change_receive(client=jyuki.client, change=change_of(jyuki, address_change_body()))
    assert Person.objects.count() == 1
