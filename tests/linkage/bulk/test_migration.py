"""A migration from an existing 統合宛名 system (JP standard §2.4.6, §2.3.5): the import keeps
the integrated numbers the old system gave, continues the sequence above them, and reports the
numbers it could not keep."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from linkage.models import CodeRequest, Person
from linkage.selectors import person_by_individual_number
from linkage.services.numbering import integrated_number_serial
from primitives.layout import CSV_COLUMNS, csv_record
from primitives.numbers import integrated_number_from_serial
from tests.conftest import post_change
from tests.factories import address_change_body, backbone_client, resident

from .conftest import run_import

pytestmark = pytest.mark.django_db

OLD_FIRST = integrated_number_from_serial(500_000)
OLD_SECOND = integrated_number_from_serial(500_123)


def _jsonl(path: Path, bodies: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(body) + "\n" for body in bodies), encoding="utf-8")
    return path


def _number_of(individual_number: str) -> str:
    person = person_by_individual_number(individual_number)
    assert person is not None
    return person.integrated_number


def _report(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as report:
        return list(csv.DictReader(report))


def test_existing_numbers_are_kept_and_the_sequence_continues_above_them(
    tmp_path: Path,
) -> None:
    jyuki = backbone_client(number_system="01", name="住基")
    first, second = resident(), resident()
    path = tmp_path / "old.jsonl"
    _jsonl(
        path,
        [
            address_change_body(resident=first, integrated_number=OLD_FIRST),
            address_change_body(resident=second, integrated_number=OLD_SECOND),
            # The same person again with its number: an update, not a new person.
            address_change_body(
                resident=first, integrated_number=OLD_FIRST, address_number="9", number_system="02"
            ),
        ],
    )
    summary = run_import(path)
    assert "registered 2, updated 1," in summary and "rejected 0" in summary
    assert "migration: kept 2 existing integrated numbers, could not keep 0" in summary
    assert _number_of(first.individual_number) == OLD_FIRST
    assert _number_of(second.individual_number) == OLD_SECOND
    # Kept numbers are persons like any other: their code is requested once (claim 2).
    assert CodeRequest.objects.count() == 2

    # A person new after the migration is numbered above the highest kept number. (The
    # PostgreSQL sequence is outside transactions: an earlier test may have raised it more.)
    answer = post_change(jyuki, address_change_body()).json()
    assert integrated_number_serial(answer["integrated_number"]) > 500_123


def test_a_number_held_by_another_person_or_a_second_number_is_reported(
    tmp_path: Path,
) -> None:
    first, second, third = resident(), resident(), resident()
    path = tmp_path / "old.csv"
    rows = [
        address_change_body(resident=first, address_number="1", integrated_number=OLD_FIRST),
        # The old system gave another person the same number.
        address_change_body(resident=second, address_number="2", integrated_number=OLD_FIRST),
        # The old system numbered the first person twice.
        address_change_body(
            resident=first, address_number="3", number_system="02", integrated_number=OLD_SECOND
        ),
        # No number: issued as usual, above the kept one.
        address_change_body(resident=third, address_number="4"),
    ]
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow([*CSV_COLUMNS, "record_status", "integrated_number"])
        for body in rows:
            writer.writerow([*csv_record(body), "", body.get("integrated_number", "")])
    summary = run_import(path)
    assert "registered 2, updated 0," in summary and "rejected 2" in summary
    assert "could not keep 2" in summary

    report = _report(tmp_path / "old.csv.duplicates.csv")
    assert [(row["line"], row["code"], row["integrated_number"]) for row in report] == [
        ("3", "integrated_number_taken", OLD_FIRST),
        ("4", "integrated_number_differs", OLD_SECOND),
    ]
    assert OLD_FIRST in report[1]["message"]  # the number the person already has
    assert Person.objects.filter(integrated_number=OLD_SECOND).count() == 0
    assert person_by_individual_number(second.individual_number) is None
    issued = _number_of(third.individual_number)
    assert integrated_number_serial(issued) > 500_000
    rejects = (tmp_path / "old.csv.rejects.csv").read_text(encoding="utf-8-sig")
    assert "integrated_number_taken" in rejects and "integrated_number_differs" in rejects


def test_a_bad_check_digit_is_a_reject_and_the_api_takes_no_integrated_number(
    tmp_path: Path,
) -> None:
    jyuki = backbone_client(number_system="01", name="住基")
    wrong = OLD_FIRST[:-1] + str((int(OLD_FIRST[-1]) + 1) % 10)
    path = _jsonl(tmp_path / "bad.jsonl", [address_change_body(integrated_number=wrong)])
    summary = run_import(path)
    assert "rejected 1" in summary
    rejects = _report(tmp_path / "bad.jsonl.rejects.csv")
    assert [(row["field"], row["code"]) for row in rejects] == [
        ("integrated_number", "check_digit")
    ]
    assert Person.objects.count() == 0

    # Only a migration's file may bring a number: the API issues its own.
    answer = post_change(jyuki, address_change_body(integrated_number=OLD_FIRST))
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["code"] == "unknown_field"
    assert Person.objects.count() == 0


@pytest.mark.parametrize("file_format", ["jsonl", "csv"])
def test_a_number_kept_late_in_the_file_never_meets_one_issued_early(
    tmp_path: Path, file_format: str
) -> None:
    """One stream: a new person without an old number comes first, and the number the
    sequence would issue next is kept by a row of a later chunk. The sequence is raised above
    every kept number before the load, so both are stored and nothing is refused."""
    from linkage.services.numbering import integrated_numbers_issue

    (current,) = integrated_numbers_issue(1)
    kept = integrated_number_from_serial(integrated_number_serial(current) + 1)
    newcomer, migrated = resident(), resident()
    bodies = [
        address_change_body(resident=newcomer),
        address_change_body(resident=migrated, integrated_number=kept),
    ]
    if file_format == "jsonl":
        path = _jsonl(tmp_path / "late.jsonl", bodies)
    else:
        path = tmp_path / "late.csv"
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow([*CSV_COLUMNS, "record_status", "integrated_number"])
            for body in bodies:
                writer.writerow(
                    [*csv_record(body)[: len(CSV_COLUMNS)], "", body.get("integrated_number", "")]
                )
    summary = run_import(path, "--streams", "1", "--chunk-size", "1")  # each row its own batch
    assert "registered 2" in summary and "rejected 0" in summary, summary
    assert _number_of(migrated.individual_number) == kept
    assert integrated_number_serial(_number_of(newcomer.individual_number)) > (
        integrated_number_serial(kept)
    )
