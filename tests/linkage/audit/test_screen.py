"""Supervisors read and filter the access audit; nobody edits it."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from linkage.models import AccessRecord
from tests.factories import KeyedClient
from tests.residents import hanako_registered, signed_in

AUDIT = reverse("access_records")


def test_a_supervisor_filters_the_audit_by_person_and_action(
    jyuki: KeyedClient, tax: KeyedClient, clerk: Any, supervisor: Any
) -> None:
    hanako = hanako_registered(jyuki, tax)
    clerk_browser = signed_in(clerk)
    clerk_browser.get(reverse("person", args=[hanako.integrated_number]))
    clerk_browser.post(reverse("person_reveal", args=[hanako.integrated_number]))  # refused
    clerk_browser.get(reverse("person_search"), {"name": "山田"})

    browser = signed_in(supervisor)
    everything = browser.get(AUDIT)
    assert everything.status_code == 200
    assert everything.context["page"].paginator.count == AccessRecord.objects.count() == 3

    about_hanako = browser.get(AUDIT, {"integrated_number": hanako.integrated_number})
    actions = [record.action for record in about_hanako.context["page"]]
    assert actions == ["reveal", "person_view"]  # newest first; the search showed nobody
    denied = browser.get(AUDIT, {"outcome": "denied", "username": "cler"})
    assert [r.action for r in denied.context["page"]] == ["reveal"]
    assert "権限なし" in denied.content.decode()
    bad = browser.get(AUDIT, {"integrated_number": "12"})
    assert bad.status_code == 400


def test_criteria_are_shown_labelled_in_japanese(
    jyuki: KeyedClient, tax: KeyedClient, clerk: Any, supervisor: Any
) -> None:
    hanako = hanako_registered(jyuki, tax)
    signed_in(clerk).get(
        reverse("person_search"), {"name": "山田", "number_system": "02", "address_number": "1"}
    )
    browser = signed_in(supervisor)
    browser.post(reverse("person_reveal", args=[hanako.integrated_number]), {"purpose": "audit"})
    browser.get(
        reverse("changed_resident_export"),
        {"date_from": "2026-11-01", "date_to": "2026-11-30", "encoding": "cp932"},
    )
    body = browser.get(AUDIT).content.decode()
    for shown in (
        "<dt>氏名</dt><dd>山田</dd>",
        "<dt>番号体系</dt><dd>02 税</dd>",
        "<dt>利用目的</dt><dd>監査・点検</dd>",
        "<dt>開始日</dt><dd>2026-11-01</dd>",
        "<dt>形式</dt><dd>CSV Shift_JIS</dd>",
    ):
        assert shown in body, shown
    assert "encoding=" not in body and "date_from=" not in body


def test_a_clerk_cannot_read_the_audit_and_nobody_edits_it_in_the_admin(
    clerk: Any, administrator: Any
) -> None:
    assert signed_in(clerk).get(AUDIT).status_code == 403
    admin = signed_in(administrator)
    signed_in(clerk).get(reverse("person_search"), {"name": "x"})
    record = AccessRecord.objects.get()
    # Separation of duties: the administrator does not even read the records.
    assert admin.get("/admin/linkage/accessrecord/").status_code == 403
    assert admin.get(AUDIT).status_code == 403
    assert admin.get("/admin/linkage/accessrecord/add/").status_code == 403
    change = admin.post(f"/admin/linkage/accessrecord/{record.pk}/change/", {"username": "x"})
    assert change.status_code == 403
    assert (
        admin.post(f"/admin/linkage/accessrecord/{record.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert AccessRecord.objects.get().username == "clerk"


def test_the_audit_list_takes_a_fixed_number_of_queries(
    jyuki: KeyedClient, tax: KeyedClient, clerk: Any, supervisor: Any
) -> None:
    hanako = hanako_registered(jyuki, tax)
    clerk_browser = signed_in(clerk)
    browser = signed_in(supervisor)
    counts = []
    for total in (3, 30):
        while AccessRecord.objects.count() < total:
            clerk_browser.get(reverse("person", args=[hanako.integrated_number]))
        with CaptureQueriesContext(connection) as captured:
            assert len(browser.get(AUDIT).context["page"]) == total
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1], counts


def test_a_period_holds_its_first_and_last_moment_in_japan_time(db: None, monkeypatch: Any) -> None:
    """Days compare as ranges of the record time (its index), in Japan time, both included."""
    import datetime

    from django.utils import timezone

    from linkage.filters import AccessRecordFilter
    from linkage.models import AccessAction, AccessOutcome
    from linkage.services.audit import access_record

    tokyo = datetime.timezone(datetime.timedelta(hours=9))
    moments = [
        datetime.datetime(2026, 11, 19, 23, 59, 59, 999999, tzinfo=tokyo),
        datetime.datetime(2026, 11, 20, 0, 0, tzinfo=tokyo),
        datetime.datetime(2026, 11, 20, 23, 59, 59, 999999, tzinfo=tokyo),
        datetime.datetime(2026, 11, 21, 0, 0, tzinfo=tokyo),
    ]
    for n, moment in enumerate(moments):
        monkeypatch.setattr(timezone, "now", lambda moment=moment: moment)
        access_record(action=AccessAction.SEARCH, outcome=AccessOutcome.OK, username=f"clerk{n}")
    monkeypatch.undo()
    found = AccessRecordFilter(
        {"date_from": "2026-11-20", "date_to": "2026-11-20"},
        queryset=AccessRecord.objects.order_by("pk"),
    )
    assert found.is_valid()
    assert [record.username for record in found.qs] == ["clerk1", "clerk2"]
    with CaptureQueriesContext(connection) as captured:
        list(found.qs.all())
    assert 'occurred_at" >= ' in captured.captured_queries[0]["sql"]
    assert "date" not in captured.captured_queries[0]["sql"].lower().split("where")[1]


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the GIN index on the numbers is PostgreSQL's"
)
def test_the_audit_by_person_is_read_over_the_numbers_index(
    jyuki: KeyedClient, tax: KeyedClient, clerk: Any
) -> None:
    """Who read this person's data is the audit's first question: its query must be one the
    index answers (an operator the jsonb_path_ops class supports), never a scan of a city's
    years of records."""
    from linkage.filters import AccessRecordFilter

    hanako = hanako_registered(jyuki, tax)
    signed_in(clerk).get(reverse("person", args=[hanako.integrated_number]))
    found = AccessRecordFilter(
        {"integrated_number": hanako.integrated_number}, queryset=AccessRecord.objects.all()
    )
    assert found.is_valid()
    assert [record.action for record in found.qs] == ["person_view"]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = found.qs.explain()
    assert "access_numbers_gin" in plan
