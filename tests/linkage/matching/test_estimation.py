"""`manage.py matching_weights`: m from versions of one person sent by different systems, u
from random pairs of different persons; stored, then used by candidate search."""

from __future__ import annotations

import copy
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from linkage.matching.search import current_weights
from linkage.models import MatchingWeights
from tests.conftest import post_change
from tests.factories import address_change_body, backbone_client, resident

pytestmark = pytest.mark.django_db


def test_too_few_pairs_leave_the_defaults_in_use() -> None:
    with pytest.raises(CommandError, match="at least 100"):
        call_command("matching_weights", stdout=StringIO())
    assert current_weights().source == "default"


def test_the_estimate_is_stored_and_used(settings) -> None:
    jyuki, tax = backbone_client(number_system="01"), backbone_client(number_system="02")
    for n in range(120):
        someone = resident()
        body = address_change_body(number_system="01", resident=someone)
        assert post_change(jyuki, body).status_code == 201
        other = address_change_body(number_system="02", resident=someone)
        if n % 3 == 0:  # 税 holds another form of the address
            other["person"] = copy.deepcopy(other["person"])
            other["person"]["address"] = (
                other["person"]["address"].replace("番", "-").replace("号", "")
            )
        assert post_change(tax, other).status_code == 200
    out = StringIO()
    call_command("matching_weights", "--pairs", "500", stdout=out)
    assert "pairs: 120 same person" in out.getvalue()
    stored = MatchingWeights.objects.get()
    weights = current_weights()
    assert weights.source.startswith("estimated")
    # Same-person pairs agree on the birth date; random pairs almost never do.
    assert weights.weight("birth_date", "exact") > 5
    assert weights.weight("birth_date", "different") < 0
    assert weights.weight("address", "normalised") > 0  # a third wrote it another way
    assert stored.pairs >= 120
