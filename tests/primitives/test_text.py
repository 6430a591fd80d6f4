"""The text rules every edge shares (primitives.text): names as the standard writes them."""

from __future__ import annotations

import unicodedata

from primitives.text import kana_marks_composed, name_spaces_normalise


def test_kana_with_combining_marks_become_the_letters_they_are() -> None:
    assert kana_marks_composed(unicodedata.normalize("NFD", "ガギグ パピプ ヴ ヷ がぱ")) == (
        "ガギグ パピプ ヴ ヷ がぱ"
    )


def test_only_kana_marks_are_composed_not_a_whole_name() -> None:
    """NFC would turn a CJK compatibility ideograph (朗, U+F929) into the unified one; a
    municipality's systems may hold the former on purpose. A mark after no kana stays."""
    compatibility = "\uf929"
    name = f"{compatibility}子　カ\u3099"
    assert unicodedata.normalize("NFC", name)[0] != compatibility
    assert name_spaces_normalise(name) == f"{compatibility}子\u3000ガ"
    assert kana_marks_composed("山\u3099") == "山\u3099"
