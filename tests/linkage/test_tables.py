"""linkage.tables: a few rows of several tables written in one statement (gathered), and the
set-wise insert's keys."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Model
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from linkage.models import CodeRequest, CodeRequestStatus, CodeRequestTransition, Person
from linkage.services.numbering import SEQUENCE_NAME, integrated_numbers_issue
from linkage.tables import build, gathered, insert, reserve

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="gathering is PostgreSQL's (one statement of data-modifying WITH clauses); the "
    "SQLite test below checks that nothing changes there",
)


def _person(number: str) -> Person:
    return build(
        Person,
        integrated_number=number,
        individual_number_index=None,
        individual_number_encrypted="",
        individual_number_index_key="",
    )


def _rows_of_a_new_person(number: str) -> tuple[Person, CodeRequest, CodeRequestTransition]:
    """A person, its code request and the request's transition: each row refers to the one
    before by the key insert gave it."""
    person = _person(number)
    insert([person])
    request = build(
        CodeRequest,
        person_id=person.pk,
        status=CodeRequestStatus.REQUESTING,
        status_changed_at=timezone.now(),
    )
    insert([request])
    transition = build(
        CodeRequestTransition,
        code_request_id=request.pk,
        from_status=CodeRequestStatus.NOT_REQUESTED,
        to_status=CodeRequestStatus.REQUESTING,
        cause="test",
    )
    insert([transition])
    return person, request, transition


@postgresql_only
def test_gathered_rows_of_three_tables_are_written_in_one_statement_at_the_end() -> None:
    with CaptureQueriesContext(connection) as captured, transaction.atomic():
        with gathered():
            reserve({SEQUENCE_NAME: 1, Person: 1, CodeRequest: 1, CodeRequestTransition: 1})
            (number,) = integrated_numbers_issue(1)
            person, request, transition = _rows_of_a_new_person(number)
            # Held, not written: the keys are the reserved ones.
            assert not Person.objects.filter(pk=person.pk).exists()
        written = [query["sql"] for query in captured.captured_queries]
    reserving, _looked, writing = written[-3:]
    assert "nextval" in reserving and "generate_series" in reserving
    assert writing.count("INSERT INTO") == 3 and "WITH" in writing
    stored = CodeRequestTransition.objects.select_related("code_request__person").get(
        pk=transition.pk
    )
    assert stored.code_request.pk == request.pk
    assert stored.code_request.person.integrated_number == number
    assert stored.code_request.person.created_at is not None


@postgresql_only
def test_a_gathered_block_that_needs_more_than_it_reserved_draws_the_rest() -> None:
    with transaction.atomic(), gathered():
        reserve({Person: 1, CodeRequest: 1})
        (number,) = integrated_numbers_issue(1)
        first = _person(number)
        second = _person(integrated_numbers_issue(1)[0])
        insert([first, second])
    assert first.pk < second.pk
    assert set(Person.objects.values_list("pk", flat=True)) == {first.pk, second.pk}


@postgresql_only
def test_a_gathered_write_that_breaks_a_constraint_stores_nothing() -> None:
    (number,) = integrated_numbers_issue(1)
    insert([_person(number)])
    with pytest.raises(IntegrityError), transaction.atomic(), gathered():
        reserve({Person: 1, CodeRequest: 1, CodeRequestTransition: 1})
        _rows_of_a_new_person(number)  # the same integrated number again
    assert Person.objects.count() == 1
    assert not CodeRequest.objects.exists()
    assert not CodeRequestTransition.objects.exists()


def test_rows_of_one_table_take_their_keys_as_they_are_inserted() -> None:
    """Nothing to refer to: no reservation, one INSERT ... RETURNING (both databases)."""
    (number,) = integrated_numbers_issue(1)
    with CaptureQueriesContext(connection) as captured, transaction.atomic(), gathered():
        reserve({Person: 1})
        person = _person(number)
        insert([person])
        assert Person.objects.filter(pk=person.pk).exists()
    written = [query["sql"] for query in captured.captured_queries]
    assert not any("nextval" in sql for sql in written)
    assert sum('INSERT INTO "linkage_person"' in sql for sql in written) == 1


@pytest.mark.skipif(
    connection.vendor != "sqlite", reason="the PostgreSQL tests above cover gathering itself"
)
def test_on_sqlite_gathered_changes_nothing() -> None:
    with transaction.atomic(), gathered():
        reserve({Person: 1, CodeRequest: 1, CodeRequestTransition: 1})
        person, request, transition = _rows_of_a_new_person(integrated_numbers_issue(1)[0])
        assert CodeRequestTransition.objects.filter(pk=transition.pk).exists()
    assert CodeRequest.objects.get(pk=request.pk).person_id == person.pk


def test_build_gives_what_the_models_constructor_gives() -> None:
    """Every model the write path builds: the same values, defaults included; a default made
    anew (a callable) is made anew for each instance, never shared."""
    from linkage.bulk.initial_load import LOADED
    from linkage.models import BusinessInformation, Notice, ReviewItem

    written: tuple[type[Model], ...] = (*LOADED, ReviewItem)  # a load's tables, review items
    for model in written:
        built, constructed = build(model), model()
        values = {k: v for k, v in vars(built).items() if k != "_state"}
        expected = {k: v for k, v in vars(constructed).items() if k != "_state"}
        assert values.keys() == expected.keys(), model
        for field in model._meta.concrete_fields:
            value, wanted = values[field.attname], expected[field.attname]
            if field.has_default() and callable(field.default):
                assert type(value) is type(wanted), (model, field.name)  # a time, a uuid...
            else:
                assert value == wanted, (model, field.name)
        assert build(model, pk=7).pk == 7
    first, second = build(BusinessInformation), build(BusinessInformation)
    assert first.items == {} and first.items is not second.items
    assert build(Notice).event_id != build(Notice).event_id
