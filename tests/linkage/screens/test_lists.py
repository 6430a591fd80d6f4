"""The changed-resident list with its CSV (list creation 41), the error list with
re-requests (confirmation 42), and the dashboard."""

from __future__ import annotations

import csv
import datetime
import io
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.http import StreamingHttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from linkage.models import AddressVersion, CodeRequest, CodeRequestStatus, CodeRequestTransition
from linkage.selectors import DAY_SETTLED_AFTER, WORK_FIGURES_KEY, changed_residents
from tests.factories import KeyedClient
from tests.residents import Registered, change, register, signed_in

CHANGED = reverse("changed_residents")
EXPORT = reverse("changed_resident_export")
TODAY = datetime.date(2026, 11, 20)


def registered_on(registered: Registered, day: datetime.date, hour: int = 10) -> None:
    """Move the resident's versions to `day` (local time): the list selects by that time."""
    moment = timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))
    AddressVersion.objects.filter(person=registered.person).update(registered_at=moment)


@pytest.fixture
def moved(jyuki: KeyedClient) -> dict[str, Registered]:
    residents = {
        "before": register(jyuki, name="前日　一郎", name_kana="ゼンジツ　イチロウ"),
        "first": register(jyuki, name="初日　花子", name_kana="ショニチ　ハナコ"),
        "last": register(jyuki, name="髙橋　𠮷子", name_kana="タカハシ　ヨシコ"),
        "after": register(jyuki, name="翌日　三郎", name_kana="ヨクジツ　サブロウ"),
    }
    registered_on(residents["before"], TODAY - datetime.timedelta(days=3), hour=23)
    registered_on(residents["first"], TODAY - datetime.timedelta(days=2), hour=0)
    registered_on(residents["last"], TODAY, hour=23)
    registered_on(residents["after"], TODAY + datetime.timedelta(days=1), hour=0)
    return residents


def period(days_before: int = 2) -> dict[str, str]:
    return {
        "date_from": (TODAY - datetime.timedelta(days=days_before)).isoformat(),
        "date_to": TODAY.isoformat(),
    }


def test_the_list_holds_the_persons_changed_in_the_period_both_days_included(
    moved: dict[str, Registered], clerk: Any
) -> None:
    response = signed_in(clerk).get(CHANGED, period())
    shown = [v.person.integrated_number for v in response.context["page"]]
    assert shown == sorted([moved["first"].integrated_number, moved["last"].integrated_number])
    body = response.content.decode()
    assert "初日　花子" in body and "前日" not in body and "翌日" not in body


def test_a_person_changed_again_later_is_listed_with_the_current_name(
    moved: dict[str, Registered], clerk: Any, jyuki: KeyedClient
) -> None:
    change(jyuki, moved["before"], name="前日　一朗")  # registered now, outside the period
    registered_on(moved["before"], TODAY - datetime.timedelta(days=3))
    AddressVersion.objects.filter(person=moved["before"].person, history_seq=2).update(
        registered_at=timezone.make_aware(datetime.datetime.combine(TODAY, datetime.time(9)))
    )
    response = signed_in(clerk).get(CHANGED, period(days_before=0))
    rows = {v.person.integrated_number: v for v in response.context["page"]}
    assert rows[moved["before"].integrated_number].name == "前日　一朗"
    assert timezone.localtime(rows[moved["before"].integrated_number].changed_in_period).hour == 9


def test_the_list_reads_in_chunks_in_order_and_skips_a_person_merged_meanwhile(
    jyuki: KeyedClient,
) -> None:
    """The list is read in two steps (the order, then the rows): every chunk of an export
    keeps the order, and a person merged between the steps is left out, not an error."""
    residents = [register(jyuki) for _ in range(5)]
    change(jyuki, residents[2], name="再変更　花子")  # two versions, one person
    for hour, resident in zip((9, 11, 10, 10, 8), residents, strict=True):
        registered_on(resident, TODAY, hour=hour)
    listed = changed_residents(date_from=TODAY, date_to=TODAY)
    assert listed.count() == 5
    expected = [
        resident.integrated_number
        for _hour, _number, resident in sorted(
            (hour, resident.integrated_number, resident)
            for hour, resident in zip((9, 11, 10, 10, 8), residents, strict=True)
        )
    ]
    assert [v.person.integrated_number for v in listed.iterator(chunk_size=2)] == expected
    assert listed.integrated_numbers() == expected
    assert [v.person.integrated_number for v in listed[1:3]] == expected[1:3]
    hours = [timezone.localtime(v.changed_in_period).hour for v in listed[0:5]]  # type: ignore[attr-defined]
    assert hours == [8, 9, 10, 10, 11]

    assert listed[1].person.integrated_number == expected[1]
    assert len(listed) == 5 and list(listed)[-1].person.integrated_number == expected[-1]

    order = list(listed.order)
    AddressVersion.objects.filter(person=residents[4].person).update(is_current=False)
    assert [v.person.integrated_number for v in listed._versions(order)] == expected[1:]


def test_presets_and_an_invalid_period(clerk: Any) -> None:
    client = signed_in(clerk)
    today = timezone.localdate()
    body = client.get(CHANGED).content.decode()
    assert f"date_from={today.isoformat()}&amp;date_to={today.isoformat()}" in body
    week_start = today - datetime.timedelta(days=today.weekday())
    assert f"date_from={week_start.isoformat()}&amp;date_to={today.isoformat()}" in body
    assert f"date_from={today.replace(day=1).isoformat()}" in body
    reversed_period = client.get(CHANGED, {"date_from": "2026-11-20", "date_to": "2026-11-19"})
    assert reversed_period.status_code == 400
    assert "開始日より前の日付は指定できません" in reversed_period.content.decode()


def test_the_list_takes_a_fixed_number_of_queries(jyuki: KeyedClient, clerk: Any) -> None:
    client = signed_in(clerk)
    counts = []
    for total in (2, 30):
        while AddressVersion.objects.filter(is_current=True).count() < total:
            register(jyuki)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(CHANGED)
        assert len(response.context["page"]) == total
        counts.append(len(captured.captured_queries))
    # The count, the order, the page's rows; 4 (5 on PostgreSQL) write the access record.
    assert counts[0] == counts[1] <= 12, counts


def test_utf8_csv_has_a_bom_a_header_and_every_row(
    moved: dict[str, Registered], supervisor: Any
) -> None:
    response = signed_in(supervisor).get(EXPORT, {**period(), "encoding": "utf-8"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        'filename="changed-residents_20261118-20261120_utf-8.csv"'
        in response["Content-Disposition"]
    )
    assert isinstance(response, StreamingHttpResponse)
    raw = b"".join(response.streaming_content)
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw[3:].decode("utf-8"), newline="")))
    assert rows[0] == [
        "統合宛名番号",
        "氏名",
        "氏名カナ",
        "生年月日",
        "性別",
        "住所",
        "異動登録日時",
    ]
    by_number = {row[0]: row for row in rows[1:]}
    assert set(by_number) == {moved["first"].integrated_number, moved["last"].integrated_number}
    assert by_number[moved["last"].integrated_number][1] == "髙橋　𠮷子"
    assert by_number[moved["last"].integrated_number][6] == "2026-11-20 23:00:00"
    assert raw.count(b"\r\n") == 3


def test_cp932_csv_is_written_for_excel(moved: dict[str, Registered], supervisor: Any) -> None:
    response = signed_in(supervisor).get(
        EXPORT, {**period(days_before=2), "date_to": "2026-11-19", "encoding": "cp932"}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=cp932"
    text = response.content.decode("cp932")
    assert not response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[1][:3] == [moved["first"].integrated_number, "初日　花子", "ショニチ　ハナコ"]
    assert "初日　花子".encode("cp932") in response.content


def test_cp932_writes_a_letter_sent_with_an_ivs_as_the_letter_and_utf8_keeps_it(
    jyuki: KeyedClient, supervisor: Any
) -> None:
    """CP932 cannot say which drawing of 葛 is meant: it gets 葛 (the 縮退 of every Shift_JIS
    system), where a letter CP932 lacks altogether refuses the file. The screen says so."""
    ivs = "\U000e0100"
    drawn = register(jyuki, name=f"葛{ivs}西　花子", name_kana="カサイ　ハナコ")
    registered_on(drawn, TODAY)
    client = signed_in(supervisor)
    plain = client.get(EXPORT, {**period(), "encoding": "cp932"})
    assert plain.status_code == 200
    rows = list(csv.reader(io.StringIO(plain.content.decode("cp932"), newline="")))
    assert rows[1][:2] == [drawn.integrated_number, "葛西　花子"]
    utf8 = client.get(EXPORT, {**period(), "encoding": "utf-8"})
    assert isinstance(utf8, StreamingHttpResponse)
    assert f"葛{ivs}西　花子".encode() in b"".join(utf8.streaming_content)
    listed = client.get(CHANGED, period()).content.decode()
    assert "Shift_JIS には異体字の字形の指定(IVS)がないため" in listed


def test_xlsx_keeps_numbers_as_text_dates_as_dates_and_no_formula(
    moved: dict[str, Registered], jyuki: KeyedClient, supervisor: Any
) -> None:
    from openpyxl import load_workbook

    formula = register(jyuki, name="=HYPERLINK(1)　太郎", name_kana="イコール　タロウ")
    registered_on(formula, TODAY, hour=9)
    client = signed_in(supervisor)
    assert "encoding=xlsx" in client.get(CHANGED, period()).content.decode()
    response = client.get(EXPORT, {**period(), "encoding": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert 'filename="changed-residents_20261118-20261120.xlsx"' in response["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows())
    assert [cell.value for cell in rows[0]] == [
        "統合宛名番号", "氏名", "氏名カナ", "生年月日", "性別", "住所", "異動登録日時",
    ]  # fmt: skip
    by_number = {row[0].value: row for row in rows[1:]}
    assert set(by_number) == {
        moved["first"].integrated_number,
        moved["last"].integrated_number,
        formula.integrated_number,
    }
    for number, row in by_number.items():
        assert (row[0].data_type, row[0].number_format) == ("s", "@"), number  # text, zeros kept
        assert isinstance(row[3].value, datetime.datetime)  # a date cell
        assert row[3].number_format == "yyyy-mm-dd"
    last = by_number[moved["last"].integrated_number]
    assert last[1].value == "髙橋　𠮷子"  # no CP932 limit in a workbook
    assert last[6].value == datetime.datetime(2026, 11, 20, 23, 0)  # noqa: DTZ001 (Excel: local, naive)
    name = by_number[formula.integrated_number][1]
    assert (name.value, name.data_type) == ("=HYPERLINK(1)　太郎", "s")  # a string, not a formula


def test_cp932_refuses_a_character_it_cannot_hold_and_names_it(
    moved: dict[str, Registered], supervisor: Any
) -> None:
    """髙 is in CP932 (an IBM extension); 𠮷 is not: the file is not written and the report
    names the person, the field, the character and its code point."""
    response = signed_in(supervisor).get(EXPORT, {**period(), "encoding": "cp932"})
    assert response.status_code == 422
    problems = response.context["problems"]
    assert [(p.integrated_number, str(p.field), p.character, p.code_point) for p in problems] == [
        (moved["last"].integrated_number, "氏名", "𠮷", "U+20BB7")
    ]
    assert "encoding=utf-8" in response.content.decode()


@pytest.mark.parametrize("encoding", ["utf-8", "cp932", "xlsx"])
def test_an_export_takes_a_fixed_number_of_queries(
    jyuki: KeyedClient, supervisor: Any, encoding: str
) -> None:
    """An export reads only the fields its file holds: none may be fetched row by row."""
    client = signed_in(supervisor)
    today = timezone.localdate().isoformat()
    counts = []
    for total in (2, 12):
        while AddressVersion.objects.filter(is_current=True).count() < total:
            register(jyuki)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(
                EXPORT, {"date_from": today, "date_to": today, "encoding": encoding}
            )
            body = (
                b"".join(response.streaming_content)
                if isinstance(response, StreamingHttpResponse)
                else response.content
            )
        assert response.status_code == 200 and len(body) > 0
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1], counts


def test_a_clerk_sees_the_list_but_cannot_export_it(
    moved: dict[str, Registered], clerk: Any
) -> None:
    client = signed_in(clerk)
    page = client.get(CHANGED, period()).content.decode()
    assert "encoding=xlsx" not in page and "encoding=utf-8" not in page
    assert client.get(EXPORT, {**period(), "encoding": "utf-8"}).status_code == 403


def test_an_export_with_a_bad_period_or_encoding_goes_back_with_a_message(
    supervisor: Any,
) -> None:
    client = signed_in(supervisor)
    for query in ({**period(), "encoding": "latin-1"}, {"date_from": "x", "encoding": "utf-8"}):
        response = client.get(EXPORT, query, follow=True)
        assert "期間と文字コードを正しく指定してください" in response.content.decode()


def test_a_workbook_past_a_sheets_rows_is_refused_with_the_count_and_the_way_out(
    moved: dict[str, Registered], supervisor: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worksheet holds 1,048,575 rows under its header: a longer period would be a broken
    file. The clerk is told the count and what to do, and nothing is exported or recorded."""
    from linkage.models import AccessAction, AccessRecord

    monkeypatch.setattr("linkage.views.XLSX_MAX_ROWS", 1)
    client = signed_in(supervisor)
    response = client.get(EXPORT, {**period(), "encoding": "xlsx"}, follow=True)
    assert response.redirect_chain[-1][0].startswith(CHANGED)
    body = response.content.decode()
    assert "Excel形式で出力できるのは1件までです(この期間は2件)" in body
    assert "CSVを選んでください" in body
    assert not AccessRecord.objects.filter(action=AccessAction.EXPORT).exists()
    csv_export = client.get(EXPORT, {**period(), "encoding": "utf-8"})
    assert csv_export.status_code == 200
    assert AccessRecord.objects.filter(action=AccessAction.EXPORT, result_count=2).exists()


# The error list (confirmation 42)


@pytest.fixture
def failed(jyuki: KeyedClient) -> list[Registered]:
    residents = [register(jyuki) for _ in range(3)]
    for registered in residents:
        CodeRequest.objects.filter(person=registered.person).update(
            status=CodeRequestStatus.ERROR,
            last_error="individual number not registered in the national resident register",
            status_changed_at=timezone.now(),
        )
    return residents


def test_the_error_list_shows_each_failure_with_its_reason(
    failed: list[Registered], clerk: Any, jyuki: KeyedClient
) -> None:
    register(jyuki)  # requesting: not in the list
    response = signed_in(clerk).get(reverse("code_request_errors"))
    listed = {cr.person.integrated_number for cr in response.context["page"]}
    assert listed == {r.integrated_number for r in failed}
    body = response.content.decode()
    # The intermediate server's reason in Japanese, with the next step, never in English.
    assert body.count("住基ネットに未登録の個人番号") == 3
    assert body.count("住基で個人番号を確認のうえ、再依頼してください。") == 3
    assert "not registered" not in body
    for registered in failed:  # name and kana beside the number
        version = registered.person.versions.get(is_current=True)
        assert version.name in body and version.name_kana in body
    assert 'name="code_request"' not in body  # a clerk cannot re-request
    assert "select-all" not in body


def test_an_unknown_reason_is_shown_as_sent_with_the_general_next_step(
    failed: list[Registered], supervisor: Any
) -> None:
    CodeRequest.objects.filter(person=failed[0].person).update(last_error="E1234 回線断")
    body = signed_in(supervisor).get(reverse("code_request_errors")).content.decode()
    assert "E1234 回線断" in body
    assert "内容を確認のうえ再依頼してください" in body
    assert 'data-select-all="code_request"' in body  # a supervisor may select them all


def test_a_supervisor_re_requests_chosen_failures(
    failed: list[Registered], supervisor: Any
) -> None:
    chosen = [CodeRequest.objects.get(person=r.person) for r in failed[:2]]
    client = signed_in(supervisor)
    response = client.post(
        reverse("code_request_errors_retry"),
        {"code_request": [str(cr.pk) for cr in chosen]},
        follow=True,
    )
    assert "2 件の符号取得を再依頼しました" in response.content.decode()
    for code_request in chosen:
        code_request.refresh_from_db()
        assert (code_request.status, code_request.generation) == (CodeRequestStatus.REQUESTING, 2)
        last = CodeRequestTransition.objects.filter(code_request=code_request).last()
        assert last is not None
        assert (last.from_status, last.to_status, last.cause) == (
            CodeRequestStatus.ERROR,
            CodeRequestStatus.REQUESTING,
            "clerk_retry:supervisor-1",
        )
    untouched = CodeRequest.objects.get(person=failed[2].person)
    assert untouched.status == CodeRequestStatus.ERROR


def test_a_request_no_longer_in_error_is_not_re_requested(
    failed: list[Registered], supervisor: Any
) -> None:
    code_request = CodeRequest.objects.get(person=failed[0].person)
    client = signed_in(supervisor)
    client.post(reverse("code_request_errors_retry"), {"code_request": [code_request.pk]})
    response = client.post(
        reverse("code_request_errors_retry"), {"code_request": [code_request.pk]}, follow=True
    )
    assert "1 件はエラー状態ではないため再依頼しませんでした" in response.content.decode()
    code_request.refresh_from_db()
    assert code_request.generation == 2
    nothing = client.post(reverse("code_request_errors_retry"), {}, follow=True)
    assert "再依頼する宛名を選択してください" in nothing.content.decode()


def test_a_clerk_cannot_re_request(failed: list[Registered], clerk: Any) -> None:
    code_request = CodeRequest.objects.get(person=failed[0].person)
    response = signed_in(clerk).post(
        reverse("code_request_errors_retry"), {"code_request": [code_request.pk]}
    )
    assert response.status_code == 403
    code_request.refresh_from_db()
    assert code_request.status == CodeRequestStatus.ERROR


def test_the_error_list_takes_a_fixed_number_of_queries(
    jyuki: KeyedClient, supervisor: Any
) -> None:
    client = signed_in(supervisor)
    counts = []
    for total in (2, 25):
        while CodeRequest.objects.count() < total:
            register(jyuki)
        CodeRequest.objects.update(status=CodeRequestStatus.ERROR)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(reverse("code_request_errors"))
        assert len(response.context["page"]) == total
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1] <= 6, counts


# The dashboard


def test_the_dashboard_counts_statuses_and_changes_per_day(
    failed: list[Registered], jyuki: KeyedClient, clerk: Any
) -> None:
    register(jyuki)
    registered_on(failed[0], timezone.localdate() - datetime.timedelta(days=29))
    registered_on(failed[1], timezone.localdate() - datetime.timedelta(days=30))  # too old
    response = signed_in(clerk).get(reverse("home"))
    figures = response.context["figures"]
    assert figures.status_counts == {
        "not_requested": 0,
        "requesting": 1,
        "requested": 0,
        "error": 3,
    }
    days = figures.changes_per_day
    assert len(days) == 30 and days[-1][0] == timezone.localdate()
    assert days[-1][1] == 2 and days[0][1] == 1 and sum(c for _, c in days) == 3
    assert figures.oldest_requesting_since is not None
    body = response.content.decode()
    assert body.count('class="bar"') == 30
    assert 'hx-trigger="every 30s"' in body
    # Readable at a glance: a y axis with 0, half and a round top, day labels, each count.
    import re

    ticks = re.findall(r'<text [^>]*class="tick end">(\d+)</text>', body)
    assert ticks == ["0", "1", "2"]
    days_labelled = re.findall(r'class="tick middle">(\d+/\d+)</text>', body)
    today = timezone.localdate()
    assert len(days_labelled) == 5 and days_labelled[-1] == f"{today.month}/{today.day}"
    assert re.findall(r'class="value">(\d+)</text>', body) == ["1", "2"]
    assert "件数" in body and "日付（今日が右端）" in body


@pytest.mark.parametrize(
    ("highest", "top"), [(0, 1), (1, 1), (3, 5), (25, 50), (100, 100), (101, 200), (4999, 5000)]
)
def test_the_charts_top_is_a_round_number_above_the_highest_day(highest: int, top: int) -> None:
    from linkage.views import _nice_ceiling

    assert _nice_ceiling(highest) == top


def test_htmx_refreshes_only_the_figures(clerk: Any) -> None:
    response = signed_in(clerk).get(reverse("home"), HTTP_HX_REQUEST="true")
    text = response.content.decode().strip()
    assert text.startswith('<section id="dashboard-figures"')
    assert "<html" not in text


def _addressversion_reads(captured: CaptureQueriesContext) -> int:
    return sum('FROM "linkage_addressversion"' in query["sql"] for query in captured)


def test_the_dashboard_takes_a_fixed_number_of_queries(jyuki: KeyedClient, clerk: Any) -> None:
    client = signed_in(clerk)
    counts = []
    for total in (2, 20):
        while CodeRequest.objects.count() < total:
            register(jyuki)
        cache.clear()
        with CaptureQueriesContext(connection) as captured:
            client.get(reverse("home"))
        counts.append(len(captured.captured_queries))
        # A count over the registered_at index per day of the chart, none for the rest.
        assert _addressversion_reads(captured) == 30
    assert counts[0] == counts[1] <= 40, (
        counts
    )  # 30 days, the figures, heavy reading, the screening backlog, the session, the user


def test_the_figures_are_read_once_per_refresh_for_every_screen_and_scrape(
    jyuki: KeyedClient, clerk: Any
) -> None:
    """Every open dashboard polls and every scrape asks: at a city's scale each reading
    counts a table's index, so the installation reads once per refresh period (shared
    cache), and a settled day's count of changes is never read again."""
    register(jyuki)
    client = signed_in(clerk)
    first = client.get(reverse("home"))
    assert first.context["figures"].status_counts["requesting"] == 1
    register(jyuki)
    with CaptureQueriesContext(connection) as captured:
        again = client.get(reverse("home"), HTTP_HX_REQUEST="true")
        scrape = Client().get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert not any("linkage_coderequest" in query["sql"] for query in captured)
    # The same reading, with the time it was made: the clerk sees how old the figures are.
    assert again.context["figures"] == first.context["figures"]
    assert again.context["figures"].status_counts["requesting"] == 1
    computed_at = timezone.localtime(first.context["figures"].computed_at)
    assert f"{computed_at:%H:%M:%S} 時点" in again.content.decode()
    assert (
        'linkage_code_requests{stage="pending",status="requesting"} 1.0' in scrape.content.decode()
    )

    cache.delete(WORK_FIGURES_KEY)  # the refresh period is over
    with CaptureQueriesContext(connection) as captured:
        fresh = client.get(reverse("home"), HTTP_HX_REQUEST="true")
    assert fresh.context["figures"].status_counts["requesting"] == 2
    # Only the days not yet settled (today; yesterday too in the night's first hour).
    settled_before = timezone.now() - DAY_SETTLED_AFTER
    today = timezone.localdate()
    unsettled = (
        2
        if timezone.make_aware(datetime.datetime.combine(today, datetime.time.min)) > settled_before
        else 1
    )
    assert _addressversion_reads(captured) == unsettled
