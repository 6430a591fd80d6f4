"""Linkage's clerks in a real browser: search by kana typed in hiragana, open a person with
the number masked, correct the address and see the new version; a supervisor reveals the
number, downloads the changed-resident CSV in both encodings and re-requests a failed code;
the screens in English."""

from __future__ import annotations

import csv
import datetime
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from linkage.models import CodeRequest, CodeRequestStatus
from tests.conftest import PASSWORD
from tests.factories import KeyedClient
from tests.residents import Registered, hanako_registered, register

from .conftest import sign_in


@pytest.fixture
def hanako(transactional_db: None, jyuki: KeyedClient, tax: KeyedClient) -> Registered:
    return hanako_registered(jyuki, tax)


@pytest.fixture
def failed(transactional_db: None, jyuki: KeyedClient) -> Registered:
    registered = register(jyuki, name="高田　誠", name_kana="タカダ　マコト")
    CodeRequest.objects.filter(person=registered.person).update(
        status=CodeRequestStatus.ERROR,
        last_error="individual number not registered in the national resident register",
    )
    return registered


def test_a_clerk_finds_a_person_by_kana_and_corrects_the_address(
    live_server: Any,
    page: Page,
    hanako: Registered,
    failed: Registered,
    clerk: Any,
    screenshot: Callable[[str], Path],
    settings: Any,
) -> None:
    settings.DASHBOARD_REFRESH_SECONDS = 1
    base = live_server.url
    sign_in(page, base, "clerk", PASSWORD, "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("ダッシュボード")
    expect(page.locator('[data-status="error"]')).to_have_text("1")
    screenshot("linkage-dashboard")
    # Another failure arrives: the figures follow within a refresh, with no page load.
    page.evaluate("window.loadedOnce = true")
    CodeRequest.objects.filter(person=hanako.person).update(status=CodeRequestStatus.ERROR)
    expect(page.locator('[data-status="error"]')).to_have_text("2", timeout=5000)
    assert page.evaluate("window.loadedOnce") is True
    CodeRequest.objects.filter(person=hanako.person).update(status=CodeRequestStatus.REQUESTING)

    page.get_by_role("link", name="宛名検索").click()
    page.get_by_label("氏名・カナ").fill("すずき　はなこ")  # hiragana, for スズキ　ハナコ
    page.get_by_label("生年月日", exact=True).fill("S50.6.15")  # 和暦, as clerks type it
    page.get_by_role("button", name="検索", exact=True).click()
    results = page.locator("table.results tbody tr")
    expect(results).to_have_count(1)
    expect(results).to_contain_text("鈴木　花子")
    screenshot("linkage-search")

    page.get_by_role("link", name=hanako.integrated_number).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("鈴木　花子")
    body = page.locator("body")
    expect(body).to_contain_text("********" + hanako.individual_number[-4:])
    expect(body).not_to_contain_text(hanako.individual_number)
    expect(page.get_by_role("button", name="表示する")).to_have_count(0)  # a clerk cannot

    page.get_by_role("link", name="基本4情報を訂正").click()
    page.get_by_label("住所").fill("横浜市港北区日吉1-1-10")
    page.get_by_label("訂正理由").fill("住民からの申出により番地の誤記を訂正")
    page.get_by_role("button", name="確認へ進む").click()
    # The confirmation: what changes, who is told; nothing stored until confirmed.
    expect(page.get_by_role("heading", level=1)).to_contain_text("訂正内容の確認")
    changes = page.locator("table.correction-changes tbody tr")
    expect(changes).to_have_count(1)
    expect(changes).to_contain_text("横浜市港北区日吉1-1-10")
    expect(page.locator("ul.told")).to_contain_text("01 住基")
    expect(page.locator("ul.told")).to_contain_text("02 税")
    screenshot("linkage-correction-confirm")
    page.get_by_role("button", name="訂正を確定").click()

    expect(page.locator("li.message")).to_contain_text("訂正を登録しました(履歴SEQ 3)")
    newest = page.locator("table.versions tbody tr").first
    expect(newest.locator("td.changed")).to_have_text("横浜市港北区日吉1-1-10")
    expect(newest).to_contain_text("住民からの申出により番地の誤記を訂正")
    screenshot("linkage-person")


def test_a_supervisor_reveals_exports_and_re_requests_then_reads_it_in_english(
    live_server: Any,
    page: Page,
    hanako: Registered,
    failed: Registered,
    supervisor: Any,
    screenshot: Callable[[str], Path],
    settings: Any,
) -> None:
    settings.REVEAL_SECONDS = 2
    base = live_server.url
    sign_in(page, base, "supervisor-1", PASSWORD, f"/persons/{hanako.integrated_number}/")

    masked = "********" + hanako.individual_number[-4:]
    expect(page.locator("#individual-number")).to_contain_text(masked)
    page.get_by_role("button", name="表示する").click()  # no purpose: refused, said why
    expect(page.locator("#individual-number")).not_to_contain_text(hanako.individual_number)
    page.get_by_label("利用目的").select_option(label="窓口での本人確認")
    page.get_by_role("button", name="表示する").click()  # htmx: no page load
    expect(page.locator("[data-revealed]")).to_have_text(hanako.individual_number)
    expect(page.locator("#individual-number")).to_contain_text("利用目的「窓口での本人確認」")
    assert hanako.individual_number not in page.url
    # It hides itself after REVEAL_SECONDS (2 here), and the form is back.
    expect(page.locator("[data-revealed]")).to_have_count(0, timeout=6000)
    expect(page.locator("#individual-number")).to_contain_text(masked)
    expect(page.locator("#individual-number")).not_to_contain_text(hanako.individual_number)
    page.get_by_label("利用目的").select_option(label="監査・点検")
    page.get_by_role("button", name="表示する").click()
    expect(page.locator("[data-revealed]")).to_have_text(hanako.individual_number)
    # Leaving the page (another tab in front) hides it at once.
    page.evaluate(
        "Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true});"
        "document.dispatchEvent(new Event('visibilitychange'))"
    )
    expect(page.locator("[data-revealed]")).to_have_count(0)

    page.get_by_role("link", name="異動者一覧").click()
    expect(page.locator("tbody")).to_contain_text(hanako.integrated_number)
    screenshot("linkage-changed-residents")
    with page.expect_download() as utf8:
        page.get_by_role("link", name="UTF-8 (BOM)").click()
    raw = Path(utf8.value.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert rows[0][:2] == ["統合宛名番号", "氏名"]
    assert [hanako.integrated_number, "鈴木　花子", "スズキ　ハナコ"] in [r[:3] for r in rows]
    with page.expect_download() as cp932:
        page.get_by_role("link", name="Shift_JIS (CP932)").click()
    assert cp932.value.suggested_filename.endswith("_cp932.csv")
    text = Path(cp932.value.path()).read_bytes().decode("cp932")
    assert "鈴木　花子" in text and "高田　誠" in text
    with page.expect_download() as xlsx:
        page.get_by_role("link", name="Excel (.xlsx)").click()
    assert xlsx.value.suggested_filename.endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(Path(xlsx.value.path()).read_bytes())).active
    assert sheet is not None
    numbers = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    cell = numbers[hanako.integrated_number][0]
    assert (cell.data_type, cell.number_format) == ("s", "@")  # text: Excel keeps its zeros
    assert isinstance(numbers[hanako.integrated_number][3].value, datetime.datetime)

    page.get_by_role("link", name="エラー一覧").click()
    expect(page.locator("tbody")).to_contain_text("住基ネットに未登録の個人番号")
    expect(page.locator("tbody")).to_contain_text(
        "住基で個人番号を確認のうえ、再依頼してください。"
    )
    expect(page.locator("tbody")).to_contain_text("高田　誠")
    page.get_by_label("このページの宛名をすべて選択").check()
    expect(page.get_by_label(f"{failed.integrated_number} を選択")).to_be_checked()
    screenshot("linkage-errors")
    page.get_by_role("button", name="選択した宛名を再依頼").click()
    expect(page.locator("li.message")).to_contain_text("1 件の符号取得を再依頼しました")
    expect(page.get_by_text("エラーになった符号取得依頼はありません")).to_be_visible()
    CodeRequest.objects.get(person=failed.person, status=CodeRequestStatus.REQUESTING)

    page.get_by_role("link", name="ダッシュボード").click()
    page.get_by_label("Language").select_option("en")
    page.wait_for_load_state()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    expect(page.get_by_role("link", name="Person search")).to_be_visible()
    screenshot("linkage-dashboard-en")
    page.get_by_role("link", name="Person search").click()
    page.get_by_label("Name or kana").fill("ﾊﾅｺ")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("table.results tbody tr")).to_have_count(1)
    expect(page.get_by_role("columnheader", name=re.compile("Date of birth"))).to_be_visible()


def test_an_administrator_manages_users_in_the_admin_but_sees_no_person(
    live_server: Any,
    page: Page,
    hanako: Registered,
    administrator: Any,
    clerk: Any,
    screenshot: Callable[[str], Path],
) -> None:
    base = live_server.url
    sign_in(page, base, "administrator", PASSWORD, "/admin/")
    page.get_by_role("link", name="ユーザー", exact=True).click()
    expect(page.locator("#result_list")).to_contain_text("clerk")
    screenshot("linkage-admin-users")
    # Separation of duties: the person page is refused, and nothing of the person shows.
    response = page.goto(f"{base}/persons/{hanako.integrated_number}/")
    assert response is not None and response.status == 403
    expect(page.locator("#individual-number")).to_have_count(0)
    assert hanako.individual_number[-4:] not in page.content()
    expect(page.get_by_role("button", name="表示する")).to_have_count(0)


def test_the_api_documentation_renders_within_its_content_security_policy(
    live_server: Any, page: Page
) -> None:
    # Redoc's own "powered by" logo comes from the internet: refused, as it should be.
    page.csp_expected.append("https://cdn.redoc.ly/")  # type: ignore[attr-defined]
    page.goto(f"{live_server.url}/api/docs/")
    expect(page.get_by_role("heading", name="Send an address change")).to_be_visible(timeout=15_000)
