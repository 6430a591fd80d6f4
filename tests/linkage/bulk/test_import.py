"""import_address_changes: the API's rules and results, set-wise, from CSV or JSON Lines."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management.base import CommandError

from linkage.bulk.files import AddressChangeFile
from linkage.models import (
    CodeRequest,
    CodeRequestStage,
    CodeRequestStatus,
    CrossReference,
    Notice,
    Person,
)
from tests.conftest import post_change
from tests.factories import address_change_body, backbone_client

from .conftest import linkage_clear, linkage_snapshot, run_import

pytestmark = pytest.mark.django_db

CALLBACK = "http://127.0.0.1:9/notices"


def receiving_clients() -> dict[str, Any]:
    """Every system with a callback URL, so notices are part of the comparison."""
    return {
        ns: backbone_client(number_system=ns, callback_url=CALLBACK)
        for ns in ("01", "02", "03", "04")
    }


def through_the_api(path: Path, clients: dict[str, Any]) -> None:
    source = AddressChangeFile(path, file_format="csv", encoding="utf-8")
    for row in source:
        assert row.body is not None
        if row.error is not None:
            continue  # not JSON inside the CSV cell: a body the API never receives
        keyed = clients.get(str(row.body.get("number_system")), clients["01"])
        post_change(keyed, row.body)
    source.close()


def test_the_file_and_the_api_store_the_same_rows(generated: Callable[..., Path]) -> None:
    path = generated(persons=40, overlap=0.6, updates=15, bad_share=0.15)
    clients = receiving_clients()
    through_the_api(path, clients)
    by_api = linkage_snapshot()
    assert len(by_api["persons"]) == 40 and by_api["notices"]
    linkage_clear()

    summary = run_import(path, "--chunk-size", "7")  # persons span chunks

    by_file = linkage_snapshot()
    for table in by_api:
        only_api = sorted(set(by_api[table]) - set(by_file[table]))[:3]
        only_file = sorted(set(by_file[table]) - set(by_api[table]))[:3]
        assert (table, only_api, only_file) == (table, [], [])
    assert by_file == by_api
    assert "registered 40," in summary


def test_jsonl_and_cp932_files_give_the_same_result(generated: Callable[..., Path]) -> None:
    run_import(generated("a.csv", persons=25, updates=5))
    from_csv = linkage_snapshot()
    for name, extra in (("b.jsonl", ()), ("c.csv", ("--encoding", "cp932"))):
        linkage_clear()
        options = {"encoding": "cp932"} if extra else {}
        run_import(generated(name, persons=25, updates=5, **options), *extra)
        assert linkage_snapshot() == from_csv, name


def test_every_bad_row_is_reported_with_its_line_field_and_reason(
    generated: Callable[..., Path],
) -> None:
    path = generated(persons=60, bad_share=0.25)
    summary = run_import(path)
    rejects = path.with_name(path.name + ".rejects.csv").read_text(encoding="utf-8-sig")
    lines = path.read_text(encoding="utf-8").splitlines()
    expected = {
        "check_digit": ("individual_number", "check_digit"),
        "future_birth_date": ("person.birth_date", "future_date"),
        "not_katakana": ("person.name_kana", "not_katakana"),
        "missing_name": ("person.name", "required"),
        "bad_sex": ("person.sex", "invalid_choice"),
        "no_offset": ("changed_at", "no_offset"),
        "address_number_digits": ("address_number", "digits"),
        "unknown_number_system": ("number_system", "unknown_number_system"),
        "items_not_json": ("business.items", "invalid_json"),
        "event_id_reused": ("event_id", "event_id_reused"),
        "address_number_taken": ("address_number", "address_number_taken"),
    }
    seen = set()
    import csv

    for line, event_id, field, code, message in list(csv.reader(rejects.splitlines()))[1:]:
        assert message
        assert (field, code) in expected.values()
        # The line number points at the rejected row.
        assert lines[int(line) - 1].startswith(event_id + ",")
        seen.add((field, code))
    assert seen == set(expected.values())
    rejected = len(rejects.splitlines()) - 1
    assert f"rejected {rejected} " in summary
    # No individual number appears in the rejects file.
    for person in Person.objects.all():
        assert person.individual_number not in rejects


def test_an_interrupted_import_resumes_without_duplicating(
    generated: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = generated(persons=30, updates=10)
    run_import(path)
    complete = linkage_snapshot()
    linkage_clear()

    from linkage.bulk.ingest import Importer

    original = Importer.import_chunk
    calls = {"n": 0}

    def crash_on_the_third_chunk(self: Importer, rows: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(self, rows)

    monkeypatch.setattr(Importer, "import_chunk", crash_on_the_third_chunk)
    with pytest.raises(KeyboardInterrupt):
        run_import(path, "--chunk-size", "10")
    assert 0 < Person.objects.count() < 30
    monkeypatch.setattr(Importer, "import_chunk", original)

    summary = run_import(path, "--chunk-size", "10")

    assert linkage_snapshot() == complete
    assert "duplicates 20," in summary  # the two chunks stored before the interruption


def test_a_bulk_load_leaves_one_pending_code_request_per_person(
    generated: Callable[..., Path],
) -> None:
    run_import(generated(persons=20, overlap=1.0))
    code_requests = CodeRequest.objects.all()
    assert code_requests.count() == Person.objects.count() == 20
    assert {(c.status, c.stage) for c in code_requests} == {
        (CodeRequestStatus.REQUESTING, CodeRequestStage.PENDING)
    }
    assert not Notice.objects.exists()  # no client asked for notices


def test_an_undecodable_line_is_reported_and_the_rest_imported(
    tmp_path: Path, generated: Callable[..., Path]
) -> None:
    good = generated("good.csv", persons=3, overlap=0.0, encoding="cp932").read_bytes()
    lines = good.split(b"\r\n")
    lines.insert(2, b"broken," + b"\x82\xa0\x85\x40" + b",01")  # 0x8540 is not CP932
    path = tmp_path / "broken.csv"
    path.write_bytes(b"\r\n".join(lines))

    summary = run_import(path, "--encoding", "cp932")

    assert "registered 3," in summary and "rejected 1 " in summary
    rejects = path.with_name(path.name + ".rejects.csv").read_text(encoding="utf-8-sig")
    assert "3,,,encoding,the line is not valid cp932 (byte 10)" in rejects


def test_characters_outside_cp932_are_reported_by_the_generator(tmp_path: Path) -> None:
    from backbone.management.commands.generate_address_changes import _Writer
    from tests.factories import address_change_body

    writer = _Writer(tmp_path / "x.csv", "csv", "cp932")
    body = address_change_body()
    body["person"]["name"] = "𠮷田　太郎"
    assert writer.write(body) is False
    writer.close()
    assert writer.skipped == [
        f"left out event {body['event_id']}: name has a character outside cp932 "
        "('𠮷' at position 1)"
    ]
    assert writer.written == 0


def test_a_wrong_header_stops_the_import_before_anything_is_stored(tmp_path: Path) -> None:
    path = tmp_path / "wrong.csv"
    path.write_text("event_id,number_system\n1,01\n", encoding="utf-8")
    with pytest.raises(CommandError, match="the header must be exactly"):
        run_import(path)
    assert not Person.objects.exists()


def test_the_number_system_option_refuses_other_systems(generated: Callable[..., Path]) -> None:
    path = generated(persons=10, overlap=1.0, systems=2)
    summary = run_import(path, "--number-system", "01")
    assert "registered 10, updated 0," in summary
    rejects = path.with_name(path.name + ".rejects.csv").read_text(encoding="utf-8-sig")
    assert rejects.count("number_system_not_allowed") == 10


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (("--number-system", "1"), "--number-system must be one of 01, 02, 03, 04"),
        (("--rejects", "{tmp}/missing/r.csv"), "cannot be written (No such file or directory)"),
        (("--rejects", "{tmp}"), "cannot be written (Is a directory)"),
        (("--duplicates", "{tmp}"), "cannot be written (Is a directory)"),
    ],
    ids=["number system typed wrong", "rejects folder missing", "rejects a folder", "dups"],
)
def test_an_option_the_import_cannot_work_with_stops_it_before_anything_is_read(
    generated: Callable[..., Path], tmp_path: Path, option: tuple[str, str], message: str
) -> None:
    """Not every row refused for a typing error, nor a traceback once the load has begun."""
    path = generated(persons=3)
    name, value = option
    with pytest.raises(CommandError, match=re.escape(message)):
        run_import(path, name, value.format(tmp=tmp_path))
    assert not Person.objects.exists()


def test_the_documented_sample_file_imports(settings: Any, tmp_path: Path) -> None:
    sample = Path(settings.BASE_DIR) / "docs" / "samples" / "address-changes.csv"
    summary = run_import(sample, "--rejects", str(tmp_path / "rejects.csv"))
    assert "read 4, registered 2, updated 2, unchanged 0, duplicates 0, rejected 0" in summary
    assert CrossReference.objects.count() == 3
    hanako = Person.objects.get(cross_references__address_number="100000002")
    assert [v.name_kana for v in hanako.versions.order_by("history_seq")] == [
        "サトウ\u3000ハナコ",  # half-width kana stored full-width, its space as 氏名 (SPEC 7.1)
        "サトウ　ハナコ",
    ]


def test_rows_held_in_memory_never_exceed_the_chunk_size(
    generated: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Good rows and rejects alike are flushed per chunk, so memory does not grow with the
    file, even one of bad rows only."""
    from linkage.management.commands import import_address_changes as command

    held: list[int] = []
    original = command._Run.flush

    def measured(self: Any) -> None:
        held.append(len(self.chunk) + len(self.pending_rejects))
        original(self)

    monkeypatch.setattr(command._Run, "flush", measured)
    path = generated(persons=40, bad_share=0.5)
    run_import(path, "--chunk-size", "6")

    assert len(held) > 10
    assert max(held) <= 6 + 1  # a row with two problems may add two rejects at once


def test_record_status_ends_and_revives_links_as_the_api_does(tmp_path: Path) -> None:
    """SPEC 7.1's record_status in a file: a CSV column after the thirteen, or a JSON Lines
    field; the link is ended (with its time) and revived by a later active change."""
    import csv
    import json

    from linkage.models import CrossReference
    from primitives.layout import CSV_COLUMNS, csv_record
    from primitives.vocabulary import RecordStatus
    from tests.factories import address_change_body

    backbone_client(number_system="01", name="住基")
    first = address_change_body(number_system="01", address_number="501")
    ending = {**first, "event_id": "end-501", "record_status": "ended"}
    reviving = {**first, "event_id": "revive-501", "record_status": "active"}
    path = tmp_path / "statuses.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow([*CSV_COLUMNS, "record_status"])
        for body in (first, ending):
            writer.writerow([*csv_record(body), body.get("record_status", "")])
    run_import(path)
    link = CrossReference.objects.get(number_system="01", address_number="501")
    assert link.record_status == RecordStatus.ENDED and link.ended_at is not None

    lines = tmp_path / "revive.jsonl"
    lines.write_text(json.dumps(reviving) + "\n", encoding="utf-8")
    run_import(lines)
    link.refresh_from_db()
    assert link.record_status == RecordStatus.ACTIVE and link.ended_at is None

    wrong = tmp_path / "wrong.jsonl"
    wrong.write_text(json.dumps({**first, "event_id": "bad", "record_status": "gone"}) + "\n")
    summary = run_import(wrong)
    assert "rejected 1" in summary
    assert "invalid_choice" in (tmp_path / "wrong.jsonl.rejects.csv").read_text()


def test_a_purged_person_returning_in_a_file_gets_its_number_again(
    tmp_path: Path, settings: Any
) -> None:
    """As through the API (tests/linkage/security/test_retention.py): the row on the
    person's own link brings the number back; no new person, no new code request."""
    import datetime
    import json
    from io import StringIO

    from django.core.management import call_command
    from django.utils import timezone

    from linkage.selectors import person_by_individual_number
    from primitives.vocabulary import RecordStatus
    from tests.factories import address_change_body

    settings.INDIVIDUAL_NUMBER_RETENTION_DAYS = 30
    jyuki = backbone_client(number_system="01", name="住基")
    body = address_change_body(number_system="01", address_number="601")
    assert post_change(jyuki, body).status_code == 201
    person = Person.objects.get()
    long_ago = timezone.now() - datetime.timedelta(days=400)
    person.versions.update(registered_at=long_ago)
    CrossReference.objects.update(record_status=RecordStatus.ENDED, ended_at=long_ago)
    CodeRequest.objects.update(status=CodeRequestStatus.REQUESTED)
    call_command("purge_expired", stdout=StringIO())
    assert Person.objects.get().purged_at is not None

    lines = tmp_path / "return.jsonl"
    returning = {**body, "event_id": "returns-601"}
    lines.write_text(
        json.dumps(returning) + "\n" + json.dumps({**returning, "event_id": "again"}) + "\n"
    )
    summary = run_import(lines)
    # The second row brings nothing new (SPEC 7.1): a receipt, no version.
    assert "rejected 0" in summary and "updated 1, unchanged 1" in summary
    returned = Person.objects.get()
    assert returned.purged_at is None
    assert person_by_individual_number(body["individual_number"]) == returned
    assert CodeRequest.objects.count() == 1


def test_the_last_record_status_of_a_chunk_wins(tmp_path: Path) -> None:
    """Ended and revived in one chunk: the link ends up active; revived and ended: ended."""
    from linkage.models import CrossReference
    from primitives.vocabulary import RecordStatus
    from tests.factories import address_change_body

    backbone_client(number_system="01", name="住基")
    first = address_change_body(number_system="01", address_number="701")
    other = address_change_body(number_system="01", address_number="702")
    run_import(_jsonl(tmp_path / "first.jsonl", [first, other]))
    flips = [
        {**first, "event_id": "701-end", "record_status": "ended"},
        {**first, "event_id": "701-revive", "record_status": "active"},
        {**other, "event_id": "702-revive", "record_status": "active"},
        {**other, "event_id": "702-end", "record_status": "ended"},
    ]
    assert "rejected 0" in run_import(_jsonl(tmp_path / "flips.jsonl", flips))
    statuses = dict(
        CrossReference.objects.filter(number_system="01").values_list(
            "address_number", "record_status"
        )
    )
    assert statuses == {"701": RecordStatus.ACTIVE, "702": RecordStatus.ENDED}


def _jsonl(path: Path, bodies: list[dict[str, Any]]) -> Path:
    import json

    path.write_text("".join(json.dumps(body) + "\n" for body in bodies), encoding="utf-8")
    return path


def test_a_name_or_address_of_variation_selectors_alone_is_rejected_as_blank(
    tmp_path: Path,
) -> None:
    """As the API refuses it: the file's quick check of plain rows sends such a row to the
    fields, which name the field."""
    backbone_client(number_system="01")
    bodies = [address_change_body() for _ in range(3)]
    bodies[0]["person"]["name"] = "\U000e0100"
    bodies[1]["person"]["address"] = "\ufe0f"
    path = _jsonl(tmp_path / "selectors.jsonl", bodies)
    summary = run_import(path)
    assert "registered 1," in summary and "rejected 2 " in summary, summary
    rejects = path.with_name(path.name + ".rejects.csv").read_text(encoding="utf-8-sig")
    assert [row[2:4] for row in csv.reader(rejects.splitlines()[1:])] == [
        ["person.name", "blank"],
        ["person.address", "blank"],
    ]


def test_the_collector_runs_seldom_during_an_import_and_as_before_after_it(
    generated: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The objects alive before the load are set aside and the young generation is collected
    every COLLECTION_THRESHOLD allocations while the chunks are stored; afterwards (and after
    a failure) the collector is as it was."""
    import gc

    from linkage.bulk.ingest import Importer
    from linkage.management.commands.import_address_changes import COLLECTION_THRESHOLD

    before = gc.get_threshold()
    seen: list[tuple[tuple[int, ...], int]] = []
    original = Importer.import_chunk

    def watched(self: Importer, rows: Any) -> Any:
        seen.append((gc.get_threshold(), gc.get_freeze_count()))
        return original(self, rows)

    monkeypatch.setattr(Importer, "import_chunk", watched)
    path = generated(persons=10)
    run_import(path)
    assert seen and all(
        thresholds[0] == COLLECTION_THRESHOLD and frozen > 0 for thresholds, frozen in seen
    )
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0

    def failing(self: Importer, rows: Any) -> Any:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(Importer, "import_chunk", failing)
    with pytest.raises(RuntimeError):
        run_import(generated("again.csv", persons=3, seed=12))
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
