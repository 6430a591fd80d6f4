"""SPEC 10.3's normal forms and comparisons, field by field."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from linkage.matching import forms
from linkage.matching.forms import address_normalised, normalised, variant
from linkage.matching.scoring import compare, default_weights
from linkage.matching.search import Query


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("髙橋", "高橋"),
        ("山﨑", "山崎"),
        ("渡邊", "渡辺"),
        ("渡邉", "渡辺"),
        ("齋藤", "斎藤"),
        ("齊藤", "斎藤"),
        ("澤田", "沢田"),
        ("濱口", "浜口"),
        ("櫻井", "桜井"),
        ("廣瀬", "広瀬"),
        ("國分", "国分"),
        ("嶋田", "島田"),
        ("峯岸", "峰岸"),
        ("黑田", "黒田"),
        ("眞鍋", "真鍋"),
        ("德永", "徳永"),
        ("藏本", "蔵本"),
        ("淺野", "浅野"),
        ("瀧本", "滝本"),
        ("關", "関"),
        ("𠮷田", "吉田"),
    ],
)
def test_old_and_variant_forms_fold_to_the_form_used_today(old: str, new: str) -> None:
    assert variant(old) == variant(new) == new


def test_two_common_kanji_are_never_folded_into_one() -> None:
    assert variant("埼") != variant("崎")
    assert variant("斉藤") != variant("斎藤")


def test_the_normalised_form_ignores_width_spaces_and_kana_kind() -> None:
    assert normalised("ﾔﾏﾀﾞ ﾀﾛｳ") == normalised("やまだ　たろう") == normalised("ヤマダタロウ")
    assert normalised("キョウコ") == normalised("キヨウコ")  # small kana as large


@pytest.mark.parametrize(
    "written",
    [
        "横浜市中区一丁目2-3",
        "横浜市中区1丁目2番3号",
        "横浜市中区１丁目２番地３",
        "横浜市中区1-2-3",
        "横浜市 中区 一丁目二番三号",
    ],
)
def test_address_forms_are_one_address(written: str) -> None:
    assert address_normalised(written) == "横浜市中区1-2-3"


def test_a_kanji_number_with_units_is_read_as_a_number() -> None:
    assert address_normalised("本町二十三番地") == "本町23"


def test_each_field_gets_its_level_and_weight() -> None:
    weights = default_weights()
    stored = Query(
        "髙橋　一郎", "タカハシ　イチロウ", datetime.date(1986, 3, 21), "1", "横浜市中区1丁目2番3号"
    )
    sought = Query("高橋一郎", "ﾀｶﾊｼ ｲﾁﾛｳ", datetime.date(1986, 3, 12), "1", "横浜市中区一丁目2-3")
    result = compare(sought, stored, weights)
    assert result.agreement == {
        "name": "variant",
        "name_kana": "normalised",
        "birth_date": "similar",
        "sex": "exact",
        "address": "normalised",
    }
    assert all(weight > 0 for weight in result.weights.values())
    assert result.score >= 90
    other = compare(
        Query("佐藤花子", "サトウハナコ", datetime.date(1990, 1, 1), "2", "川崎市"), stored, weights
    )
    assert other.score == 0 and all(w < 0 for w in other.weights.values())


def test_a_letter_with_an_ivs_is_the_letter_in_name_and_address() -> None:
    ivs = "\U000e0100"
    stored = Query(
        f"葛{ivs}西花子", "カサイハナコ", datetime.date(1975, 5, 5), "2", f"葛{ivs}飾区1-2"
    )
    sought = Query("葛西花子", "カサイハナコ", datetime.date(1975, 5, 5), "2", "葛飾区一丁目2番")
    result = compare(sought, stored, default_weights())
    assert result.agreement["name"] == "normalised"
    assert result.agreement["address"] == "normalised"
    assert result.score >= 99


def test_a_missing_field_adds_nothing() -> None:
    weights = default_weights()
    stored = Query("山田太郎", "ヤマダタロウ", datetime.date(1980, 1, 1), "1", "横浜市")
    result = compare(Query(name="山田太郎"), stored, weights)
    assert result.agreement["birth_date"] == "missing" and result.weights["birth_date"] == 0


def test_an_mj_map_row_for_an_ivs_folds_its_letter(tmp_path: Path, settings) -> None:
    mj = tmp_path / "mj.csv"
    mj.write_text("U+5D8C U+E0100,U+5CF6\n", encoding="utf-8")  # 嶌 drawn one way -> 島
    settings.MATCHING = {**settings.MATCHING, "mj_map": str(mj)}
    forms.variant_table.cache_clear()
    try:
        assert variant("嶌\U000e0101田") == variant("嶌田") == "島田"
    finally:
        forms.variant_table.cache_clear()


def test_the_mj_map_is_loaded_where_the_municipality_supplies_it(tmp_path: Path, settings) -> None:
    mj = tmp_path / "mj.csv"
    mj.write_text("U+5D8C,U+5CF6\n", encoding="utf-8")  # 嶌 -> 島
    settings.MATCHING = {**settings.MATCHING, "mj_map": str(mj)}
    forms.variant_table.cache_clear()
    try:
        assert variant("嶌田") == "島田"
    finally:
        forms.variant_table.cache_clear()
