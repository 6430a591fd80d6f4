"""Management commands of the simulated national side and of the confirmation unit."""

from __future__ import annotations

import io
import sys
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from intermediate.models import RegistryEntry, SimulatorControl
from intermediate.services import registry_resolve
from linkage.models import CodeRequest
from tests.conftest import post_change
from tests.factories import address_change_body

pytestmark = pytest.mark.django_db
NUMBER = "983205673214"


def run(*args: str, stdin: str = "", monkeypatch: pytest.MonkeyPatch | None = None) -> str:
    out = StringIO()
    if monkeypatch is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    call_command(*args, stdout=out)
    return out.getvalue()


def test_registry_enrol_invalidate_and_list(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "enrol: 1 entries" in run(
        "national_registry", "enrol", stdin=f"{NUMBER}\n\n", monkeypatch=monkeypatch
    )
    resident_code, error = registry_resolve(NUMBER)
    assert len(resident_code) == 11
    assert error == ""

    listing = run("national_registry", "list")
    assert "********3214" in listing
    assert NUMBER not in listing
    assert "valid" in listing

    run("national_registry", "invalidate", stdin=f"{NUMBER}\n", monkeypatch=monkeypatch)
    assert registry_resolve(NUMBER) == ("", "individual number was invalidated (changed)")
    assert "invalidated" in run("national_registry", "list")


NOT_REGISTERED = ("", "individual number not registered in the national resident register")


def test_a_closed_registry_knows_only_the_numbers_enrolled() -> None:
    assert registry_resolve(NUMBER) == NOT_REGISTERED
    assert not RegistryEntry.objects.exists()


def test_the_open_sandbox_registry_knows_every_number_but_those_marked_unknown(
    monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.NATIONAL_REGISTRY_OPEN = True
    resident_code, error = registry_resolve(NUMBER)  # never enrolled: enrolled on asking
    assert len(resident_code) == 11 and error == ""
    assert registry_resolve(NUMBER) == (resident_code, "")  # the same code every time
    other = "123456789018"
    assert "unknown: 1 entries" in run(
        "national_registry", "unknown", stdin=f"{other}\n", monkeypatch=monkeypatch
    )
    assert registry_resolve(other) == NOT_REGISTERED
    assert "unknown" in run("national_registry", "list")
    run("national_registry", "enrol", stdin=f"{other}\n", monkeypatch=monkeypatch)
    code, error = registry_resolve(other)  # enrolled after all: known
    assert len(code) == 11 and error == ""


def test_registry_refuses_a_bad_number_without_echoing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(CommandError) as raised:
        run("national_registry", "enrol", stdin="983205673215\n", monkeypatch=monkeypatch)
    assert "line 1" in str(raised.value)
    assert "983205673215" not in str(raised.value)
    assert not RegistryEntry.objects.exists()


def test_simulator_control_switches_faults() -> None:
    run("simulator_control", "intermediate", "--unavailable", "on", "--latency-ms", "5")
    control = SimulatorControl.objects.get(name="intermediate")
    assert (control.unavailable, control.latency_ms) == (True, 5)
    run("simulator_control", "intermediate", "--unavailable", "off")
    assert SimulatorControl.objects.get(name="intermediate").unavailable is False
    with pytest.raises(CommandError, match="between 0 and 1"):
        run("simulator_control", "network", "--error-rate", "2")


def test_an_unavailable_intermediate_server_fails_the_command_clearly(
    settings: Any, jyuki: Any
) -> None:

    post_change(jyuki, address_change_body())
    CodeRequest.objects.update(stage="sent")
    settings.PEER_URLS = {
        **settings.PEER_URLS,
        "intermediate": "http://127.0.0.1:9/sim/intermediate",
    }
    with pytest.raises(CommandError, match="intermediate server is unavailable"):
        run("confirm_code_requests")
    assert CodeRequest.objects.get().status == "requesting"


def test_sweep_command_reports_what_it_enqueued() -> None:
    assert run("sweep_code_requests", "--stalled-after", "0") == "re-enqueued 0 code requests\n"


def test_a_simulated_institution_gets_residents_with_their_codes_and_income_copies() -> None:
    from intermediate.models import CodeInformation, CopyRecord, InstitutionPerson
    from intermediate.services import code_derive, registry_enrol, registry_mark_unknown

    known, unknown = "983205673214", "438231985323"
    resident_code = registry_enrol(individual_number=known).resident_code
    registry_mark_unknown(individual_number=unknown)
    out = StringIO()
    call_command(
        "simulated_institution", "131016", stdin=StringIO(f"{known}\n{unknown}\n"), stdout=out
    )
    assert out.getvalue().strip() == "131016: 1 residents with an income copy"
    (person,) = InstitutionPerson.objects.all()
    assert person.resident_code == resident_code
    assert person.code == code_derive(lg_code="131016", resident_code=resident_code)
    (code,) = CodeInformation.objects.filter(lg_code="131016")
    (copy,) = CopyRecord.objects.filter(lg_code="131016")
    assert copy.integrated_number == code.integrated_number
    assert copy.items["fiscal_year"] == 2025
    with pytest.raises(CommandError, match="not a local government code"):
        call_command("simulated_institution", "131017", stdin=StringIO(""))
