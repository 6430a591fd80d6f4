"""The search form of names, kana and addresses (primitives.text.search_key)."""

from __future__ import annotations

import importlib

import jaconv
import pytest
from django.apps import apps as django_apps
from hypothesis import example, given
from hypothesis import strategies as st

from linkage.models import AddressVersion
from primitives.text import name_search_key, search_key
from tests.factories import KeyedClient
from tests.residents import register

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


@pytest.mark.parametrize(
    "selector",
    ["\U000e0100", "\U000e0101", "\U000e01ef", "\ufe00", "\ufe0f", "\u180b", "\u180f"],
)
def test_variation_selectors_choose_a_drawing_not_a_letter(selector: str) -> None:
    assert search_key(f"葛{selector}飾") == "葛飾"
    assert search_key(f"ｶ{selector}") == "カ"  # the selector does not hold the letter back


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


@pytest.mark.django_db
def test_the_migration_computes_again_only_the_keys_of_text_with_a_selector(
    jyuki: KeyedClient,
) -> None:
    ivs = "\U000e0100"
    drawn = register(
        jyuki, name=f"葛{ivs}西　花子", name_kana="カサイ　ハナコ", address=f"葛{ivs}飾区"
    )
    plain = register(jyuki, name="山田　太郎", name_kana="ヤマダ　タロウ")
    # The keys as the rule before the migration stored them; the plain one made wrong on
    # purpose, to show that the migration reads only the versions holding a selector.
    AddressVersion.objects.filter(person=drawn.person).update(
        name_key=f"葛{ivs}西花子\nカサイハナコ", address_key=f"葛{ivs}飾区"
    )
    AddressVersion.objects.filter(person=plain.person).update(name_key="untouched")
    migration = importlib.import_module(
        "linkage.migrations.0028_search_keys_without_variation_selectors"
    )
    migration.keys_recompute(django_apps, None)
    version = AddressVersion.objects.get(person=drawn.person)
    assert (version.name_key, version.address_key) == ("葛西花子\nカサイハナコ", "葛飾区")
    assert AddressVersion.objects.get(person=plain.person).name_key == "untouched"
