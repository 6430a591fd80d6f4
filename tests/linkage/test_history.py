"""Data history (django-pghistory): every insert and update of persons, versions,
cross-references and code requests is kept with when and, for a request, who and where;
whatever wrote it. PostgreSQL only: the triggers do not exist on SQLite."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.urls import reverse

from linkage.models import AddressVersion, CodeRequest, CodeRequestStatus, CrossReference, Person
from tests.factories import KeyedClient
from tests.residents import current_seq, hanako_registered, signed_in

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="history triggers exist on PostgreSQL only"
)


def events(model: type[Any], obj: Any) -> list[Any]:
    """The history rows of one object, oldest first."""
    return list(_event_model(model).objects.filter(pgh_obj=obj).order_by("pgh_id"))


def _event_model(model: type[Any]) -> Any:
    from django.apps import apps

    return apps.get_model("linkage", f"{model.__name__}Event")


def test_a_clerk_s_correction_is_kept_with_who_and_where(
    jyuki: KeyedClient, tax: KeyedClient, clerk: Any
) -> None:
    hanako = hanako_registered(jyuki, tax)
    signed_in(clerk).post(
        reverse("person_correction", args=[hanako.integrated_number]),
        {
            "name": "鈴木 花子",
            "name_kana": "スズキ ハナコ",
            "birth_date": "1975-06-15",
            "sex": "2",
            "address": "横浜市港北区日吉2-2-2",
            "reason": "申出による訂正",
            "based_on": current_seq(hanako.integrated_number),
            "step": "confirm",
        },
    )
    newest = AddressVersion.objects.get(person=hanako.person, is_current=True)
    inserted = events(AddressVersion, newest)
    assert [(e.pgh_label, e.address) for e in inserted] == [("insert", "横浜市港北区日吉2-2-2")]
    metadata = inserted[0].pgh_context.metadata
    assert metadata["user"] == clerk.pk
    assert metadata["url"].endswith(f"/persons/{hanako.integrated_number}/correct")
    # The version it superseded, 住基's (SPEC 10.5: 税's second version was history from the
    # start): its update (is_current true -> false) is kept too.
    previous = AddressVersion.objects.get(person=hanako.person, history_seq=1)
    assert [(e.pgh_label, e.is_current) for e in events(AddressVersion, previous)] == [
        ("insert", True),
        ("update", False),
    ]
    taxes = AddressVersion.objects.get(person=hanako.person, history_seq=2)
    assert [(e.pgh_label, e.is_current) for e in events(AddressVersion, taxes)] == [
        ("insert", False)
    ]


def test_a_queryset_update_of_a_code_request_is_kept(jyuki: KeyedClient, tax: KeyedClient) -> None:
    hanako = hanako_registered(jyuki, tax)
    code_request = CodeRequest.objects.get(person=hanako.person)
    CodeRequest.objects.filter(pk=code_request.pk).update(status=CodeRequestStatus.ERROR)
    statuses = [(e.pgh_label, e.status) for e in events(CodeRequest, code_request)]
    assert statuses[-1] == ("update", CodeRequestStatus.ERROR)
    assert statuses[0][0] == "insert"


def test_the_history_of_a_person_holds_no_individual_number(
    jyuki: KeyedClient, tax: KeyedClient
) -> None:
    hanako = hanako_registered(jyuki, tax)
    person_events = _event_model(Person).objects.filter(pgh_obj=hanako.person)
    assert person_events.count() == 1
    field_names = {field.name for field in _event_model(Person)._meta.fields}
    assert "individual_number_encrypted" not in field_names
    assert "individual_number_index" not in field_names
    assert hanako.individual_number not in str(list(person_events.values()))


def test_the_bulk_import_s_copy_is_kept_too(jyuki: KeyedClient, tmp_path: Any) -> None:
    from io import StringIO

    from django.core.management import call_command

    path = tmp_path / "changes.csv"
    call_command(
        "generate_address_changes", "--persons=5", "--systems=1", f"--out={path}", stdout=StringIO()
    )
    call_command("import_address_changes", str(path), "--no-progress", stdout=StringIO())
    assert Person.objects.count() == 5
    assert _event_model(Person).objects.filter(pgh_label="insert").count() == 5
    assert _event_model(AddressVersion).objects.filter(pgh_label="insert").count() == 5


def test_the_administrator_neither_reads_nor_changes_the_history(
    jyuki: KeyedClient, tax: KeyedClient, administrator: Any
) -> None:
    """The history holds persons' names and addresses: separation of duties keeps the
    administrator out of it, as out of every other view of a person."""
    hanako_registered(jyuki, tax)
    admin = signed_in(administrator)
    assert _event_model(AddressVersion).objects.filter(pgh_label="insert").exists()
    listing = admin.get("/admin/linkage/addressversionevent/")
    assert listing.status_code == 403
    assert "insert" not in listing.content.decode()
    assert admin.get("/admin/linkage/addressversionevent/add/").status_code == 403


@pytest.mark.parametrize("model", [Person, AddressVersion, CrossReference, CodeRequest])
@pytest.mark.django_db
def test_a_history_table_is_indexed_by_its_row_and_its_request_only(model: type[Any]) -> None:
    """Each change writes a history row: the table keeps the indexes its reads use (the row
    copied, the request that changed it), not one per foreign key the row copies."""
    table = _event_model(model)._meta.db_table
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    indexed = sorted(
        tuple(found["columns"])
        for found in constraints.values()
        if found["index"] and not found["primary_key"]
    )
    assert indexed == [("pgh_context_id",), ("pgh_obj_id",)]
