"""`manage.py generate_address_changes --persons N --systems 4 --overlap 0.6 --out FILE`:
a synthetic address-change file for import_address_changes, its tests and benchmarks.

Every person is in 住基; a share `--overlap` is also in one or more of the other systems, as
in a real municipality. Individual numbers are valid and unique (a bijection of the person's
position), names, kana, addresses and birth dates come from the synthetic resident generator.
`--bad-share` adds deliberately bad rows of every kind the import must reject; `--updates M`
adds M later changes (moves) of generated persons, and `--updates-only` writes only those,
for a second, nightly file over the same persons (same `--seed`). With `--encoding cp932`,
a row with characters outside CP932 is reported and left out, never written replaced.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import json
import random
from collections import Counter
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from backbone.models import RECORD_MODELS
from backbone.synthetic import Resident, ResidentGenerator
from primitives.layout import CSV_COLUMNS, ENCODINGS, FORMATS, csv_record
from primitives.numbers import individual_number_complete

# A multiplier coprime with 10**11: position -> first eleven digits is a bijection, so every
# generated individual number is distinct.
SPREAD = 7_919_000_003
BAD_KINDS = (
    "check_digit",
    "future_birth_date",
    "not_katakana",
    "missing_name",
    "bad_sex",
    "no_offset",
    "address_number_digits",
    "unknown_number_system",
    "items_not_json",
    "event_id_reused",
    "address_number_taken",
)


class Command(BaseCommand):
    help = "Write a synthetic address-change file (CSV or JSON Lines)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--persons", type=int, required=True)
        parser.add_argument("--systems", type=int, default=4, choices=range(1, 5))
        parser.add_argument("--overlap", type=float, default=0.6)
        parser.add_argument("--out", type=Path, required=True)
        parser.add_argument("--format", dest="file_format", choices=FORMATS, default=None)
        parser.add_argument("--encoding", choices=sorted(ENCODINGS), default="utf-8")
        parser.add_argument("--bad-share", type=float, default=0.0)
        parser.add_argument("--updates", type=int, default=0)
        parser.add_argument("--updates-only", action="store_true")
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args: Any, **options: Any) -> None:
        persons: int = options["persons"]
        if persons < 1 or not 0 <= options["overlap"] <= 1 or not 0 <= options["bad_share"] < 1:
            raise CommandError("--persons >= 1, 0 <= --overlap <= 1, 0 <= --bad-share < 1")
        if options["updates"] > persons * 4:
            raise CommandError("--updates must not exceed four per person")
        out: Path = options["out"]
        file_format = options["file_format"] or ("jsonl" if out.suffix == ".jsonl" else "csv")
        writer = _Writer(out, file_format, options["encoding"])
        try:
            counts = _generate(writer, options)
        finally:
            writer.close()
        self.stdout.write(
            f"wrote {writer.written} rows to {out}: "
            + ", ".join(f"{name} {count}" for name, count in sorted(counts.items()))
        )
        for line in writer.skipped:
            self.stderr.write(line)


class _Writer:
    def __init__(self, path: Path, file_format: str, encoding: str) -> None:
        self.file: IO[str] = path.open("w", newline="", encoding=ENCODINGS[encoding])
        self.encoding = ENCODINGS[encoding]
        self.file_format = file_format
        self.csv = csv.writer(self.file, lineterminator="\r\n") if file_format == "csv" else None
        if self.csv is not None:
            self.csv.writerow(CSV_COLUMNS)
        self.written = 0
        self.skipped: list[str] = []

    def write(self, body: dict[str, Any]) -> bool:
        record = csv_record(body)
        for name, value in zip(CSV_COLUMNS, record, strict=True):
            try:
                value.encode(self.encoding)
            except UnicodeEncodeError as error:
                self.skipped.append(
                    f"left out event {body.get('event_id')}: {name} has a character outside "
                    f"{self.encoding} ({value[error.start]!r} at position {error.start + 1})"
                )
                return False
        if self.csv is not None:
            self.csv.writerow(record)
        else:
            self.file.write(json.dumps(body, ensure_ascii=False) + "\n")
        self.written += 1
        return True

    def close(self) -> None:
        self.file.close()


def _body(
    event_id: str,
    number_system: str,
    address_number: str,
    resident: Resident,
    changed_at: datetime.datetime,
    business: dict[str, Any],
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "number_system": number_system,
        "address_number": address_number,
        "individual_number": resident.individual_number,
        "changed_at": changed_at.isoformat(),
        "person": resident.as_person(),
        "business": {
            "data_type": RECORD_MODELS[number_system].DATA_TYPE,
            "confirmed_at": changed_at.isoformat(),
            "items": {
                key: value.isoformat() if isinstance(value, datetime.date) else value
                for key, value in business.items()
            },
        },
    }


def _bad(kind: str, good: dict[str, Any], serial: int, draw: random.Random) -> dict[str, Any]:
    """A copy of a good row made wrong in one way (a fresh event id unless reused)."""
    body = json.loads(json.dumps(good))
    body["event_id"] = f"bad-{serial}"
    person = body["person"]
    if kind == "check_digit":
        number = body["individual_number"]
        body["individual_number"] = number[:-1] + str((int(number[-1]) + 1) % 10)
    elif kind == "future_birth_date":
        person["birth_date"] = "2999-01-01"
    elif kind == "not_katakana":
        person["name_kana"] = "やまだ　たろう"
    elif kind == "missing_name":
        person.pop("name")
    elif kind == "bad_sex":
        person["sex"] = "5"
    elif kind == "no_offset":
        body["changed_at"] = body["changed_at"][:19]
    elif kind == "address_number_digits":
        body["address_number"] = "12A"
    elif kind == "unknown_number_system":
        body["number_system"] = "77"
    elif kind == "items_not_json":
        body["business"]["items"] = "{not json"
    elif kind == "event_id_reused":
        body["event_id"] = good["event_id"]
        person["address"] += "(別内容)"
    elif kind == "address_number_taken":
        body["individual_number"] = individual_number_complete(
            f"{(10**10 + serial * SPREAD + 1) % 10**11:011d}"
        )
    return body


def _generate(writer: _Writer, options: dict[str, Any]) -> Counter[str]:
    persons: int = options["persons"]
    systems = list(settings.NUMBER_SYSTEMS)[: options["systems"]]
    draw = random.Random(options["seed"])  # noqa: S311 (synthetic data)
    generator = ResidentGenerator(seed=options["seed"])
    update_targets = set(draw.sample(range(persons), min(options["updates"], persons)))
    updates_only: bool = options["updates_only"]
    base = datetime.datetime(2026, 4, 1, 9, 0, tzinfo=datetime.UTC)
    counts: Counter[str] = Counter()
    later: list[tuple[int, Resident, str, dict[str, Any]]] = []
    bad_serial = 0
    for position in range(persons):
        resident = dataclasses.replace(
            generator.resident(),
            individual_number=individual_number_complete(
                f"{(position * SPREAD + 10**10) % 10**11:011d}"
            ),
        )
        mine = [systems[0]]
        if len(systems) > 1 and draw.random() < options["overlap"]:
            others = systems[1:]
            mine += sorted(draw.sample(others, draw.randint(1, len(others))))
        for number_system in mine:
            business = generator.business_items(number_system, resident)
            if position in update_targets and number_system == mine[0]:
                later.append((position, resident, number_system, business))
            if updates_only:
                continue
            body = _body(
                f"{number_system}-{position}",
                number_system,
                f"{int(number_system)}{position:09d}",
                resident,
                base + datetime.timedelta(seconds=position),
                business,
            )
            if writer.write(body):
                counts[f"rows {number_system}"] += 1
            if options["bad_share"] and draw.random() < options["bad_share"]:
                bad_serial += 1
                kind = BAD_KINDS[bad_serial % len(BAD_KINDS)]
                if writer.write(_bad(kind, body, bad_serial, draw)):
                    counts[f"bad {kind}"] += 1
        counts["persons"] += 1
    for position, resident, number_system, business in later:
        moved = generator.moved(resident)
        body = _body(
            f"{number_system}-{position}-move",
            number_system,
            f"{int(number_system)}{position:09d}",
            moved,
            base + datetime.timedelta(days=30, seconds=position),
            business,
        )
        if writer.write(body):
            counts["updates"] += 1
    return counts
