"""The bulk import learns SPEC 10.1 from the one write path: rows without an individual
number, a `resolution` column (CSV) or field (JSON Lines), numbers arriving later."""

from __future__ import annotations

import csv
import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from linkage.models import (
    CodeRequest,
    CrossReference,
    Person,
    PersonMerge,
    ReviewItem,
    ScreeningDue,
)
from linkage.services.screening import Screened, screening_due_sweep
from primitives.layout import CSV_COLUMNS, OPTIONAL_COLUMNS, csv_record
from tests.conftest import post_change
from tests.factories import address_change_body, backbone_client, resident

from .conftest import run_import

pytestmark = pytest.mark.django_db


def _csv(path: Path, bodies: list[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow([*CSV_COLUMNS, *OPTIONAL_COLUMNS])
        for body in bodies:
            resolution = body.get("resolution") or {}
            chosen = resolution.get("integrated_number") or resolution.get("mode", "")
            writer.writerow([*csv_record(body), "", "", chosen])
    return path


def _without(body: dict[str, Any]) -> dict[str, Any]:
    body.pop("individual_number")
    return body


def test_csv_rows_without_a_number_and_with_a_resolution(tmp_path: Path) -> None:
    jyuki = backbone_client(number_system="01")
    backbone_client(number_system="02")
    someone = resident()
    known = post_change(jyuki, address_change_body(number_system="01", resident=someone)).json()
    twin = resident()
    rows = [
        _without(address_change_body(number_system="02", address_number="501", resident=twin)),
        _without(
            address_change_body(
                number_system="02",
                address_number="502",
                resident=someone,
                resolution={"mode": "link", "integrated_number": known["integrated_number"]},
            )
        ),
        _without(
            address_change_body(
                number_system="02",
                address_number="503",
                resident=resident(),
                resolution={"mode": "new"},
            )
        ),
    ]
    summary = run_import(_csv(tmp_path / "tax.csv", rows))
    assert "registered 2, updated 1," in summary and "rejected 0" in summary, summary
    linked = CrossReference.objects.get(number_system="02", address_number="502")
    assert linked.person.integrated_number == known["integrated_number"]
    for address_number in ("501", "503"):
        person = CrossReference.objects.get(address_number=address_number).person
        assert not person.has_individual_number
    assert CodeRequest.objects.count() == 1  # only the person whose number is known


def test_a_file_refuses_a_bad_resolution_with_its_field(tmp_path: Path) -> None:
    backbone_client(number_system="02")
    path = tmp_path / "tax.jsonl"
    rows = [
        _without(address_change_body(number_system="02", resolution={"mode": "link"})),
        _without(
            address_change_body(
                number_system="02",
                resolution={"mode": "link", "integrated_number": "000000009999990"},
            )
        ),
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    summary = run_import(path)
    assert "rejected 2" in summary, summary
    errors = (tmp_path / "tax.jsonl.rejects.csv").read_text(encoding="utf-8-sig")
    assert "resolution.integrated_number,required" in errors
    assert "resolution.integrated_number,unknown_person" in errors
    assert Person.objects.count() == 0


def test_a_number_arriving_in_a_file_attaches_or_merges(tmp_path: Path) -> None:
    jyuki = backbone_client(number_system="01")
    tax = backbone_client(number_system="02")
    alone, held = resident(), resident()
    post_change(jyuki, address_change_body(number_system="01", resident=held))
    for someone, address_number in ((alone, "601"), (held, "602")):
        body = _without(
            address_change_body(number_system="02", address_number=address_number, resident=someone)
        )
        assert post_change(tax, body).status_code == 201
    assert Person.objects.count() == 3
    path = tmp_path / "numbers.jsonl"
    rows = [
        address_change_body(number_system="02", address_number="601", resident=alone),
        address_change_body(number_system="02", address_number="602", resident=held),
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    summary = run_import(path)
    assert "rejected 0" in summary, summary
    attached = CrossReference.objects.get(address_number="601").person
    assert attached.has_individual_number and attached.individual_number == alone.individual_number
    record = PersonMerge.objects.get()
    assert record.merged == CrossReference.objects.get(address_number="602").person
    assert record.representative.individual_number == held.individual_number
    assert ReviewItem.objects.filter(kind=ReviewItem.Kind.AUTOMATIC_MERGE).count() == 1
    assert CodeRequest.objects.count() == 2  # held's, and alone's once its number came


def test_an_initial_load_leaves_screening_to_screen_persons(tmp_path: Path) -> None:
    backbone_client(number_system="02")
    someone = resident()
    rows = [
        _without(
            address_change_body(number_system="02", address_number=str(700 + n), resident=someone)
        )
        for n in range(2)
    ]
    summary = run_import(_csv(tmp_path / "tax.csv", rows), "--initial-load")
    assert "registered 2" in summary, summary
    assert not ReviewItem.objects.exists()  # the initial load does not screen
    out = StringIO()
    call_command("screen_persons", stdout=out)
    assert "screened 2 persons without an individual number; 1 review items opened" in (
        out.getvalue()
    )
    assert ReviewItem.objects.filter(kind=ReviewItem.Kind.POSSIBLE_DUPLICATE).count() == 1
    # Screened once: a second run opens nothing; --all finds the pairs already listed.
    for args in ((), ("--all",)):
        out = StringIO()
        call_command("screen_persons", *args, stdout=out)
        assert " 0 review items opened" in out.getvalue()


def test_one_person_twice_in_a_nightly_file_is_found_to_be_one_after_commit(
    tmp_path: Path,
) -> None:
    """税 and 福祉 send one person without a number in one file: each row is screened before
    the chunk is stored, so neither finds the other. The sweep screens both again once they
    are stored, and opens one review item for the pair, once."""
    backbone_client(number_system="02")
    backbone_client(number_system="04")
    someone = resident()
    rows = [
        _without(address_change_body(number_system=number_system, resident=someone))
        for number_system in ("02", "04")
    ]
    summary = run_import(_csv(tmp_path / "night.csv", rows))
    assert "registered 2" in summary, summary
    assert not ReviewItem.objects.exists()
    assert ScreeningDue.objects.count() == 2

    assert screening_due_sweep() == Screened(persons=2, opened=1)
    item = ReviewItem.objects.get()
    assert item.kind == ReviewItem.Kind.POSSIBLE_DUPLICATE
    assert {item.person_id, item.other_id} == set(Person.objects.values_list("pk", flat=True))
    assert not ScreeningDue.objects.exists()
    assert screening_due_sweep() == Screened(persons=0, opened=0)


def test_the_sweep_lets_go_a_person_given_its_number_meanwhile(
    tmp_path: Path,
) -> None:
    tax = backbone_client(number_system="02")
    backbone_client(number_system="04")
    someone, other = resident(), resident()
    first = _without(address_change_body(number_system="02", resident=someone))
    rows = [
        first,
        _without(address_change_body(number_system="04", resident=someone)),
        _without(address_change_body(number_system="04", resident=other)),
    ]
    run_import(_csv(tmp_path / "night.csv", rows))
    # 税 learns its person's number before the sweep runs: no longer a person to screen.
    numbered = address_change_body(
        number_system="02", address_number=first["address_number"], resident=someone
    )
    assert post_change(tax, numbered).status_code == 200
    assert screening_due_sweep() == Screened(persons=2, opened=1)  # 福祉's two
    assert ReviewItem.objects.filter(kind=ReviewItem.Kind.POSSIBLE_DUPLICATE).count() == 1


def test_a_file_row_on_a_merged_persons_address_number_updates_the_representative(
    tmp_path: Path,
) -> None:
    jyuki, tax = backbone_client(number_system="01"), backbone_client(number_system="02")
    someone = resident()
    holder = post_change(jyuki, address_change_body(number_system="01", resident=someone)).json()
    first = _without(
        address_change_body(number_system="02", address_number="801", resident=someone)
    )
    post_change(tax, first)
    post_change(
        tax, address_change_body(number_system="02", address_number="801", resident=someone)
    )
    assert PersonMerge.objects.count() == 1
    moved = _without(
        address_change_body(number_system="02", address_number="801", resident=someone)
    )
    moved["person"]["address"] = "横浜市栄区桂町1番地"
    path = tmp_path / "moved.jsonl"
    path.write_text(json.dumps(moved) + "\n", encoding="utf-8")
    summary = run_import(path)
    assert "updated 1" in summary and "rejected 0" in summary, summary
    representative = Person.objects.get(integrated_number=holder["integrated_number"])
    assert representative.versions.filter(address="横浜市栄区桂町1番地").exists()
