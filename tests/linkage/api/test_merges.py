"""SPEC 10.4: merge and unmerge through the staff API; the refusals; merged numbers resolve to
the representative; unmerge restores exactly; person.merged / person.unmerged notices."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from linkage.models import (
    AccessAction,
    AccessRecord,
    AddressVersion,
    CrossReference,
    Notice,
    NoticeEvent,
    Person,
    PersonMerge,
)
from linkage.services.merges import MergeRefused, person_merge, person_unmerge
from tests.conftest import api_for, bearer, post_change
from tests.factories import address_change_body, backbone_client

pytestmark = pytest.mark.django_db

CALLBACK = "http://192.0.2.1/linkage-notices"


def numberless(keyed: Any, **overrides: Any) -> dict[str, Any]:
    body = address_change_body(number_system=keyed.number_system, **overrides)
    del body["individual_number"]
    answer = post_change(keyed, body)
    assert answer.status_code == 201, answer.content
    return {**answer.json(), "body": body}


def with_number(keyed: Any, **overrides: Any) -> dict[str, Any]:
    body = address_change_body(number_system=keyed.number_system, **overrides)
    answer = post_change(keyed, body)
    assert answer.status_code == 201, answer.content
    return {**answer.json(), "body": body}


def merges_url(a: str) -> str:
    return f"/api/v1/persons/{a}/merges"


@pytest.fixture
def systems() -> dict[str, Any]:
    return {
        ns: backbone_client(number_system=ns, callback_url=CALLBACK) for ns in ("01", "02", "03")
    }


def test_a_supervisor_merges_and_unmerges(systems: dict[str, Any], supervisor: Any) -> None:
    a = with_number(systems["01"])
    b = numberless(systems["02"])
    staff = bearer(supervisor)
    answer = staff.post(
        merges_url(a["integrated_number"]),
        {"merged_integrated_number": b["integrated_number"], "reason": "窓口で本人確認"},
        format="json",
    )
    assert answer.status_code == 201, answer.content
    assert answer.json()["cause"] == "manual" and answer.json()["merged_by"] == "supervisor-1"
    assert answer.json()["links"] == [
        {"number_system": "02", "address_number": b["address_number"]}
    ]
    merged = Person.objects.get(integrated_number=b["integrated_number"])
    assert merged.merged_into is not None
    # The business system holding B's number is told, and reads the representative.
    notice = Notice.objects.get(event=NoticeEvent.PERSON_MERGED, client=systems["02"].client)
    assert notice.payload["integrated_number"] == a["integrated_number"]
    assert notice.payload["address_numbers"] == [b["address_number"]]
    read = api_for(systems["02"]).get(f"/api/v1/persons/{b['integrated_number']}").json()
    assert read["integrated_number"] == a["integrated_number"]
    assert AccessRecord.objects.filter(action=AccessAction.MERGE).count() == 1

    gone = staff.delete(f"{merges_url(a['integrated_number'])}/{b['integrated_number']}")
    assert gone.status_code == 204, gone.content
    merged.refresh_from_db()
    assert merged.merged_into is None
    assert Notice.objects.filter(event=NoticeEvent.PERSON_UNMERGED).count() == 2
    read = api_for(systems["02"]).get(f"/api/v1/persons/{b['integrated_number']}").json()
    assert read["integrated_number"] == b["integrated_number"]
    record = PersonMerge.objects.get()
    assert record.unmerged_by == "supervisor-1" and record.unmerged_at is not None
    again = staff.delete(f"{merges_url(a['integrated_number'])}/{b['integrated_number']}")
    assert again.status_code == 409 and again.json()["errors"][0]["code"] == "not_merged"


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("both_hold", "different_individuals"),
        ("merged_holds", "holder_must_be_representative"),
        ("same", "same_person"),
        ("already", "already_merged"),
    ],
)
def test_the_refusals_are_409_and_change_nothing(
    systems: dict[str, Any], supervisor: Any, case: str, code: str
) -> None:
    holder = with_number(systems["01"])
    other_holder = with_number(systems["01"])
    without = numberless(systems["02"])
    third = with_number(systems["01"])
    a, b = {
        "both_hold": (holder, other_holder),
        "merged_holds": (without, holder),
        "same": (holder, holder),
        "already": (third, without),
    }[case]
    if case == "already":
        person_merge(
            representative=Person.objects.get(integrated_number=holder["integrated_number"]),
            merged=Person.objects.get(integrated_number=without["integrated_number"]),
            cause=PersonMerge.Cause.MANUAL,
        )
    before = (PersonMerge.objects.count(), Notice.objects.count())
    answer = bearer(supervisor).post(
        merges_url(a["integrated_number"]),
        {"merged_integrated_number": b["integrated_number"]},
        format="json",
    )
    assert answer.status_code == 409, answer.content
    assert answer.json()["errors"][0]["code"] == code
    assert (PersonMerge.objects.count(), Notice.objects.count()) == before


def test_a_clerk_may_not_merge(systems: dict[str, Any], clerk: Any) -> None:
    a, b = with_number(systems["01"]), numberless(systems["02"])
    answer = bearer(clerk).post(
        merges_url(a["integrated_number"]),
        {"merged_integrated_number": b["integrated_number"]},
        format="json",
    )
    assert answer.status_code == 403
    assert not PersonMerge.objects.exists()


def test_unknown_or_invalid_numbers(systems: dict[str, Any], supervisor: Any) -> None:
    a = with_number(systems["01"])
    staff = bearer(supervisor)
    assert (
        staff.post(
            merges_url("123"), {"merged_integrated_number": a["integrated_number"]}, format="json"
        ).status_code
        == 400
    )
    answer = staff.post(
        merges_url(a["integrated_number"]),
        {"merged_integrated_number": "000000009999990"},
        format="json",
    )
    assert answer.status_code == 404


def test_a_change_on_a_merged_link_updates_the_representative_and_tells_every_system(
    systems: dict[str, Any],
) -> None:
    a = with_number(systems["01"])
    b = numberless(systems["02"])
    person_merge(
        representative=Person.objects.get(integrated_number=a["integrated_number"]),
        merged=Person.objects.get(integrated_number=b["integrated_number"]),
        cause=PersonMerge.Cause.MANUAL,
    )
    # 住基 moves: 税 (linked through B) hears of it under the representative's number.
    moved = copy.deepcopy(a["body"])
    moved["event_id"] = "moved"
    moved["person"]["address"] = "横浜市港北区日吉本町1丁目1番1号"
    assert post_change(systems["01"], moved).status_code == 200
    update = Notice.objects.get(event=NoticeEvent.ADDRESS_UPDATED)
    assert update.client == systems["02"].client
    assert update.payload["integrated_number"] == a["integrated_number"]
    assert update.payload["address_numbers"] == [b["address_number"]]


def _state() -> dict[str, Any]:
    return {
        "links": sorted(
            CrossReference.objects.values_list(
                "number_system", "address_number", "person__integrated_number"
            )
        ),
        "versions": sorted(
            AddressVersion.objects.values_list(
                "person__integrated_number", "history_seq", "is_current", "address"
            )
        ),
        "resolves": sorted(
            (p.integrated_number, p.merged_into.integrated_number if p.merged_into else "")
            for p in Person.objects.select_related("merged_into")
        ),
    }


@hypothesis_settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    holders=st.integers(min_value=1, max_value=3),
    numberless_links=st.lists(st.sampled_from(["02", "03"]), min_size=1, max_size=4),
    pick=st.data(),
)
def test_merge_then_unmerge_restores_every_link_version_and_notice_target(
    systems: dict[str, Any], holders: int, numberless_links: list[str], pick: Any
) -> None:
    with transaction.atomic():
        persons = [with_number(systems["01"])["integrated_number"] for _ in range(holders)]
        persons += [numberless(systems[ns])["integrated_number"] for ns in numberless_links]
        a = pick.draw(st.sampled_from(persons))
        b = pick.draw(st.sampled_from([p for p in persons if p != a]))
        before = _state()
        representative = Person.objects.get(integrated_number=a)
        merged = Person.objects.get(integrated_number=b)
        try:
            person_merge(
                representative=representative, merged=merged, cause=PersonMerge.Cause.MANUAL
            )
        except MergeRefused as refusal:  # a refused pair (both hold numbers, holder as B)
            assert merged.has_individual_number, refusal
            assert _state() == before
            transaction.set_rollback(True)
            return
        assert _state()["resolves"] != before["resolves"]
        record = PersonMerge.objects.get(unmerged_at__isnull=True)
        merged_targets = set(
            Notice.objects.filter(event=NoticeEvent.PERSON_MERGED).values_list(
                "client_id", flat=True
            )
        )
        person_unmerge(representative=representative, merged=merged, by="test")
        assert _state() == before
        unmerged_targets = set(
            Notice.objects.filter(event=NoticeEvent.PERSON_UNMERGED).values_list(
                "client_id", flat=True
            )
        )
        assert merged_targets == unmerged_targets
        linked = set(
            CrossReference.objects.filter(person__integrated_number__in=[a, b]).values_list(
                "number_system", flat=True
            )
        )
        assert {systems[ns].client.pk for ns in linked} == merged_targets
        assert record.links == [
            {"number_system": ns, "address_number": an}
            for ns, an in CrossReference.objects.filter(person=merged)
            .order_by("number_system", "address_number")
            .values_list("number_system", "address_number")
        ]
        transaction.set_rollback(True)
