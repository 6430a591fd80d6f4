"""A business-system clerk in a real browser (seed S11-S16, S120): register a resident in
住基, the same person in 税, see one integrated number in both; a change in one reaches the
other through linkage's notices."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from backbone.models import BusinessSystem
from backbone.synthetic import Resident
from tests.backbone.conftest import deliver_pending_notices
from tests.conftest import PASSWORD
from tests.factories import resident

from .conftest import sign_in

BUSINESS_FIELDS = {
    "01": {"世帯番号": "700001", "続柄": "世帯主", "転入日": "2020-04-01"},
    "02": {"年度": "2026", "所得金額": "4200000", "税額": "210000"},
}


def fill_registration(page: Page, someone: Resident, number_system: str) -> None:
    page.get_by_label("個人番号").fill(someone.individual_number)
    page.get_by_label("氏名", exact=True).fill(someone.name)
    page.get_by_label("氏名カナ").fill(someone.name_kana)
    page.get_by_label("生年月日").fill(someone.birth_date.isoformat())
    page.get_by_label("性別").select_option(someone.sex)
    page.get_by_label("住所").fill(someone.address)
    for label, value in BUSINESS_FIELDS[number_system].items():
        page.get_by_label(label, exact=True).fill(value)


def register_in(
    page: Page,
    base: str,
    number_system: str,
    someone: Resident,
    before_submit: Callable[[], object] = lambda: None,
) -> str:
    page.goto(f"{base}/backbone/{number_system}/new")
    fill_registration(page, someone, number_system)
    before_submit()
    page.get_by_role("button", name="登録して連携サーバーへ送信").click()
    expect(page.get_by_role("status")).to_contain_text("連携サーバーが受理しました")
    integrated = page.locator("#integrated-number").inner_text()
    assert re.fullmatch(r"[0-9]{15}", integrated)
    return integrated


def test_a_clerk_registers_in_two_systems_and_a_change_flows_across(
    systems: dict[str, BusinessSystem],
    live_server: Any,
    page: Page,
    clerk: Any,
    screenshot: Callable[[str], Path],
) -> None:
    base = live_server.url
    sign_in(page, base, "clerk", PASSWORD, "/backbone/")
    someone = resident()

    in_jyuki = register_in(
        page, base, "01", someone, before_submit=lambda: screenshot("backbone-register")
    )
    # The individual number is never shown in full.
    expect(page.locator("body")).not_to_contain_text(someone.individual_number)
    expect(page.locator("body")).to_contain_text("********" + someone.individual_number[-4:])

    in_tax = register_in(page, base, "02", someone)
    assert in_tax == in_jyuki

    # 住基 records a move; linkage tells 税 (the worker's delivery, run here).
    page.goto(f"{base}/backbone/01/")
    page.get_by_role("link", name=re.compile(r"^1[0-9]{9}$")).first.click()
    page.get_by_label("住所").fill("神奈川県横浜市中区日本大通1番地")
    page.get_by_role("button", name="保存して連携サーバーへ送信").click()
    expect(page.get_by_role("status")).to_contain_text("連携サーバーが受理しました")
    screenshot("backbone-resident")
    assert deliver_pending_notices() >= 1

    page.goto(f"{base}/backbone/02/?q={in_tax}")
    expect(page.locator("tbody")).to_contain_text("神奈川県横浜市中区日本大通1番地")
    page.get_by_role("link", name=re.compile(r"^2[0-9]{9}$")).click()
    expect(page.locator("table").last).to_contain_text("宛名情報の更新")
    expect(page.get_by_label("住所")).to_have_value("神奈川県横浜市中区日本大通1番地")


def test_a_bad_check_digit_is_shown_on_the_field_and_english_is_one_click_away(
    systems: dict[str, BusinessSystem],
    live_server: Any,
    page: Page,
    clerk: Any,
    screenshot: Callable[[str], Path],
) -> None:
    base = live_server.url
    sign_in(page, base, "clerk", PASSWORD, "/backbone/01/new")
    someone = resident()
    fill_registration(page, someone, "01")
    wrong = someone.individual_number[:-1] + str((int(someone.individual_number[-1]) + 1) % 10)
    page.get_by_label("個人番号").fill(wrong)
    page.get_by_role("button", name="登録して連携サーバーへ送信").click()

    expect(page.get_by_role("alert")).to_have_text("個人番号のチェックデジットが一致しません。")
    expect(page.get_by_label("氏名", exact=True)).to_have_value(someone.name)  # kept
    screenshot("backbone-error")

    page.get_by_label("Language").select_option("en")
    page.wait_for_load_state()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Register a resident")
    expect(page.get_by_label("Individual number")).to_be_visible()
