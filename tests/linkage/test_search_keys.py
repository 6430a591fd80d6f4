"""The search form of names, kana and addresses (primitives.text.search_key)."""

from __future__ import annotations

import jaconv
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from primitives.text import name_search_key, search_key

KATAKANA = st.text(alphabet=st.characters(min_codepoint=0x30A1, max_codepoint=0x30F6), max_size=12)


@pytest.mark.parametrize(
    "variant",
    ["やまだ　たろう", "ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダタロウ", "ヤマダ\tタロウ", " やまだタロウ "],
)
def test_one_key_for_every_way_of_writing_a_kana_name(variant: str) -> None:
    assert search_key(variant) == "ヤマダタロウ"


def test_small_kana_are_large_and_width_and_case_do_not_matter() -> None:
    assert search_key("キョウコ") == search_key("キヨウコ") == "キヨウコ"
    assert search_key("ｼｮｳｯﾁ") == "シヨウツチ"
    assert (
        search_key("ＡＢＣマンション１０１") == search_key("abcマンション101") == "abcマンシヨン101"
    )


def test_kanji_are_kept_as_they_are() -> None:
    assert search_key("髙橋　𠮷子") == "髙橋𠮷子"


def test_the_name_key_keeps_name_and_kana_apart() -> None:
    key = name_search_key("山田 太郎", "ヤマダ タロウ")
    assert key == "山田太郎\nヤマダタロウ"
    # No query key holds a line feed, so no match can span the name and the kana.
    assert "\n" not in search_key("郎\nヤ")


@given(KATAKANA)
def test_hiragana_and_katakana_give_one_key(text: str) -> None:
    assert search_key(jaconv.kata2hira(text)) == search_key(text)


@example("A¯")  # a macron that NFKC turns into a space and a combining mark
@given(st.text(max_size=30))
def test_the_key_is_stable(text: str) -> None:
    """A key of a key is the key: stored keys and query keys meet."""
    assert search_key(search_key(text)) == search_key(text)
