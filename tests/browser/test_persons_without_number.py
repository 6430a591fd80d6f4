"""Persons without an individual number in a real browser (SPEC 10): a 税 clerk registers a
resident by searching candidates first, as the JP standard's flow does; a supervisor merges a
possible duplicate from the review list; a clerk reads the candidate screen."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from backbone.models import BusinessSystem
from linkage.models import Person, PersonMerge
from tests.conftest import PASSWORD, post_change
from tests.factories import address_change_body, backbone_client, resident

from .conftest import sign_in
from .test_backbone_screens import fill_registration, register_in


def test_tax_links_a_resident_without_a_number_to_the_candidate_it_chooses(
    systems: dict[str, BusinessSystem],
    live_server: Any,
    page: Page,
    clerk: Any,
    screenshot: Callable[[str], Path],
) -> None:
    base = live_server.url
    sign_in(page, base, "clerk", PASSWORD, "/backbone/")
    someone = resident()
    in_jyuki = register_in(page, base, "01", someone)

    page.goto(f"{base}/backbone/02/new")
    fill_registration(page, someone, "02")
    page.get_by_label("個人番号").fill("")
    page.get_by_role("button", name="登録して連携サーバーへ送信").click()
    candidates = page.locator("fieldset.candidates")
    expect(candidates).to_contain_text("同じ方かもしれない宛名が 1 件あります")
    expect(candidates).to_contain_text(in_jyuki)
    screenshot("backbone-candidates")
    page.locator(f"input[name=resolution][value='{in_jyuki}']").check()
    page.get_by_role("button", name="選んだ内容で登録して連携サーバーへ送信").click()
    expect(page.get_by_role("status")).to_contain_text("連携サーバーが受理しました")
    assert page.locator("#integrated-number").inner_text() == in_jyuki
    assert Person.objects.count() == 1


def test_a_supervisor_merges_a_possible_duplicate_in_the_review_list(
    live_server: Any, page: Page, supervisor: Any, screenshot: Callable[[str], Path]
) -> None:
    tax = backbone_client(number_system="02")
    someone = resident()
    numbers = []
    for _ in range(2):
        body = address_change_body(number_system="02", resident=someone)
        del body["individual_number"]
        numbers.append(post_change(tax, body).json()["integrated_number"])
    base = live_server.url
    sign_in(page, base, "supervisor-1", PASSWORD, "/review/")
    row = page.locator("table.review tbody tr").first
    expect(row).to_contain_text("同一人の可能性")
    expect(row).to_contain_text("氏名: 一致")
    screenshot("linkage-review")
    row.get_by_label("代表宛名").select_option(numbers[0])
    row.get_by_role("button", name="名寄せする").click()
    expect(page.get_by_role("status")).to_contain_text("処理しました")
    record = PersonMerge.objects.get()
    assert (record.representative.integrated_number, record.merged.integrated_number) == (
        numbers[0],
        numbers[1],
    )
    page.goto(f"{base}/persons/{numbers[1]}/")
    expect(page.locator("main")).to_contain_text("名寄せされています")
    page.get_by_role("link", name="代表宛名を開く").click()
    expect(page.locator("table.merges")).to_contain_text(numbers[1])


def test_a_clerk_reads_why_a_candidate_scores(
    live_server: Any, page: Page, clerk: Any, screenshot: Callable[[str], Path]
) -> None:
    jyuki = backbone_client(number_system="01")
    person = {"name": "齋藤　眞一", "name_kana": "サイトウ　シンイチ", "birth_date": "1975-11-03",
              "sex": "1", "address": "横浜市西区高島2丁目5番12号"}  # fmt: skip
    number = post_change(jyuki, address_change_body(person=person)).json()["integrated_number"]
    base = live_server.url
    sign_in(page, base, "clerk", PASSWORD, "/candidates/")
    page.get_by_label("氏名", exact=True).fill("斎藤真一")
    page.get_by_label("氏名カナ").fill("ｻｲﾄｳ ｼﾝｲﾁ")
    page.get_by_label("生年月日").fill("1975-11-30")
    page.get_by_label("住所").fill("横浜市西区高島二丁目5-12")
    page.get_by_role("button", name="候補を探す").click()
    table = page.locator("table.candidates")
    expect(table).to_contain_text(number)
    expect(table).to_contain_text("氏名: 異体字一致")
    expect(table).to_contain_text("生年月日: 類似")
    expect(table).to_contain_text("住所: 表記ゆれ一致")
    assert re.search(r"\b(9\d|100)\b", table.locator("td.num").first.inner_text())
    screenshot("linkage-candidates")
