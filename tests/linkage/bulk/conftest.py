"""Files for the bulk import tests, made by the project's own generator."""

from __future__ import annotations

import json
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from linkage.models import (
    AddressChangeReceipt,
    AddressVersion,
    BusinessInformation,
    CodeAcquisitionFile,
    CodeRequest,
    CodeRequestTransition,
    CrossReference,
    Notice,
    Person,
)


@pytest.fixture
def generated(tmp_path: Path) -> Callable[..., Path]:
    def generate(name: str = "changes.csv", **options: Any) -> Path:
        path = tmp_path / name
        arguments = {"persons": 30, "seed": 11, **options}
        flags = [
            f"--{key.replace('_', '-')}" + ("" if value is True else f"={value}")
            for key, value in arguments.items()
        ]
        call_command("generate_address_changes", *flags, f"--out={path}", stdout=StringIO())
        return path

    return generate


def run_import(path: Path, *args: str) -> str:
    out = StringIO()
    call_command("import_address_changes", str(path), "--no-progress", *args, stdout=out)
    return out.getvalue()


def linkage_snapshot() -> dict[str, list[Any]]:
    """Every stored fact, comparable between two runs: ids and times left out, persons named by
    their blind index and integrated numbers by their order of issue."""
    persons = list(Person.objects.order_by("integrated_number"))
    rank = {person.integrated_number: str(order) for order, person in enumerate(persons)}
    index = {person.pk: person.individual_number_index or "" for person in persons}

    def ranked(value: Any) -> Any:
        text = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
        for number, order in rank.items():
            text = text.replace(number, f"#{order}")
        return text

    return {
        "persons": sorted(
            (
                p.individual_number_index or "",
                rank[p.integrated_number],
                p.individual_number if p.has_individual_number else "",
            )
            for p in persons
        ),
        "versions": sorted(
            (
                index[v.person_id], v.history_seq, v.source, v.number_system, v.address_number,
                v.name, v.name_kana, str(v.birth_date), v.sex, v.address, v.changed_at.isoformat(),
                v.receipt.event_id if v.receipt else "",
            )
            for v in AddressVersion.objects.select_related("receipt")
        ),
        "links": sorted(
            (index[c.person_id], c.number_system, c.address_number)
            for c in CrossReference.objects.all()
        ),
        "business": sorted(
            (
                index[b.person_id], b.address_version.history_seq, b.number_system, b.data_type,
                str(b.confirmed_at), ranked(b.items),
            )
            for b in BusinessInformation.objects.select_related("address_version")
        ),
        "receipts": sorted(
            (
                r.number_system, r.event_id, r.body_digest, r.status_code, ranked(r.response),
                index[r.person_id],
            )
            for r in AddressChangeReceipt.objects.all()
        ),
        "code_requests": sorted(
            (index[c.person_id], c.status, c.stage, c.generation) for c in CodeRequest.objects.all()
        ),
        "transitions": sorted(
            (index[t.code_request.person_id], t.from_status, t.to_status)
            for t in CodeRequestTransition.objects.select_related("code_request")
        ),
        "notices": sorted(
            (n.event, n.client_id, index[n.person_id], n.status, ranked(n.payload))
            for n in Notice.objects.all()
        ),
    }  # fmt: skip


def linkage_clear() -> None:
    for model in (
        Notice, BusinessInformation, AddressVersion, CrossReference, AddressChangeReceipt,
        CodeRequestTransition, CodeRequest, CodeAcquisitionFile, Person,
    ):  # fmt: skip
        model._default_manager.all().delete()
