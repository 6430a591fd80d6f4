"""A bulk load's code requests, drained by the real worker in batches: one code acquisition
request file for many persons, each person's code obtained once."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

from django.core.management import call_command

from intermediate.models import CodeInformation, SerialNumberRequest
from intermediate.services import registry_enrol
from linkage.bulk.files import AddressChangeFile
from linkage.models import CodeAcquisitionFile, CodeRequest, Person
from tests.chain.conftest import Chain


def test_a_bulk_load_is_drained_in_shared_files(chain: Chain, tmp_path: Path) -> None:
    path = tmp_path / "load.csv"
    call_command(
        "generate_address_changes", "--persons=40", "--overlap=0.5", f"--out={path}",
        stdout=StringIO(),
    )  # fmt: skip
    source = AddressChangeFile(path, file_format="csv", encoding="utf-8")
    for number in {row.body["individual_number"] for row in source if row.body}:
        registry_enrol(individual_number=number)
    source.close()

    call_command("import_address_changes", str(path), "--no-progress", stdout=StringIO())

    chain.wait_for(
        lambda: set(CodeRequest.objects.values_list("status", flat=True)) == {"requested"},
        "every bulk-loaded code request to be confirmed",
    )
    assert Person.objects.count() == 40
    assert CodeInformation.objects.count() == 40
    assert SerialNumberRequest.objects.count() == 40  # one serial number each, no repeats
    # 40 persons released in one message: at most a couple of files, not one per person.
    assert CodeAcquisitionFile.objects.count() <= 2
