"""`__any` (linkage.lookups): the rows `__in` finds, for text, keys and foreign keys, with one
array parameter on PostgreSQL whatever the list's length."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from linkage.models import AddressVersion, CodeRequest, CrossReference, Person
from tests.conftest import post_change
from tests.factories import KeyedClient, address_change_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def stored(jyuki: KeyedClient) -> list[Person]:
    for number in ("1", "2", "3"):
        assert post_change(jyuki, address_change_body(address_number=number)).status_code == 201
    return list(Person.objects.order_by("pk"))


def _same(model: Any, name: str, values: list[Any]) -> None:
    found = set(model.objects.filter(**{f"{name}__any": values}).values_list("pk", flat=True))
    assert found == set(
        model.objects.filter(**{f"{name}__in": values}).values_list("pk", flat=True)
    )


def test_any_finds_what_in_finds(stored: list[Person]) -> None:
    first, second, _ = stored
    pks = [first.pk, second.pk, 10**9]
    cases: list[tuple[Any, str, list[Any]]] = [
        (Person, "pk", pks),
        (Person, "integrated_number", [first.integrated_number, "nobody"]),
        (Person, "individual_number_index", [second.individual_number_index, "x"]),
        (CrossReference, "address_number", ["1", "3", "99"]),
        (AddressVersion, "person_id", pks),
        (AddressVersion, "person", pks),
        (CodeRequest, "person_id", pks),
        (Person, "pk", []),
    ]
    for model, name, values in cases:
        _same(model, name, values)
    assert Person.objects.filter(pk__any=pks).count() == 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no arrays: it is IN")
def test_any_is_one_array_parameter_whatever_the_length(stored: list[Person]) -> None:
    def compiled(values: list[int]) -> tuple[str, Any]:
        query = Person.objects.filter(pk__any=values).query
        return query.get_compiler(connection=connection).as_sql()

    (short, short_params), (long, long_params) = compiled([1, 2, 3]), compiled([*range(3000)])
    assert short == long and short.count("%s") == 1 and "= ANY(%s::bigint[])" in short
    assert list(short_params) == [[1, 2, 3]] and len(long_params[0]) == 3000
