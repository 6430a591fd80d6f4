"""The normal forms of name matching (SPEC 10.3), each a step weaker than the one before:
exact, normalised (NFKC, width, spaces, hiragana as katakana, small kana as large), variant
(異体字 and 旧字体 folded: data/variants.tsv, optionally the MJ縮退マップ a municipality loads),
similar (edit distance). And the normal form of addresses: numerals and the 丁目/番地/号/hyphen
forms, so that 一丁目2-3 and 1丁目2番3号 are one address.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from pathlib import Path

from django.conf import settings

from primitives.text import search_key, variation_selectors_dropped

DATA = Path(__file__).resolve().parent / "data"


@functools.lru_cache(maxsize=65536)
def normalised(value: str) -> str:
    """NFKC, width, no spaces, hiragana as katakana, small kana as large, case folded."""
    return search_key(value)


@functools.cache
def variant_table() -> dict[str, str]:
    """Character -> the form it is compared in: the table derived from Unihan, and the
    MJ縮退マップ where MATCHING["mj_map"] names its file (CSV or TSV; the first two columns
    are the character and its folded form, given as characters or as U+XXXX)."""
    table: dict[str, str] = {}
    for line in (DATA / "variants.tsv").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            char, target = line.split("\t")[:2]
            table[char] = target
    mj_map = str(settings.MATCHING.get("mj_map") or "")
    if mj_map:
        table.update(mj_map_read(Path(mj_map)))
    return table


def _code_or_char(value: str) -> str:
    value = value.strip().strip('"')
    if value.upper().startswith("U+"):
        return "".join(chr(int(part[2:], 16)) for part in value.upper().split() if part)
    return value


def mj_map_read(path: Path) -> dict[str, str]:
    """The MJ縮退マップ's pairs (character -> folded form), single characters only."""
    pairs: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        if not line or line.startswith("#"):
            continue
        columns = re.split(r"[\t,]", line)
        if len(columns) < 2:
            continue
        # A row for an IVS (葛 + U+E0100) folds its letter: names are compared without them.
        char = variation_selectors_dropped(_code_or_char(columns[0]))
        target = variation_selectors_dropped(_code_or_char(columns[1]))
        if len(char) == 1 and target and char != target:
            pairs[char] = target
    return pairs


@functools.lru_cache(maxsize=65536)
def variant(value: str) -> str:
    """The normalised form with every 異体字 and 旧字体 folded."""
    table = variant_table()
    return "".join(table.get(char, char) for char in normalised(value))


_KANJI_DIGITS = {
    "〇": 0,
    "零": 0,
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_KANJI_UNITS = {"十": 10, "百": 100, "千": 1000}
_KANJI_NUMBER = re.compile(r"[〇零一二三四五六七八九十百千]+")
_BLOCK_WORDS = re.compile(r"(丁目|番地の?|番の?|号|の|[-‐−―ー－])")
_SPACE = re.compile(r"\s+")


def _kanji_number(match: re.Match[str]) -> str:
    text = match.group(0)
    if not any(char in _KANJI_UNITS for char in text):
        return "".join(str(_KANJI_DIGITS[char]) for char in text)
    total, digit = 0, 0
    for char in text:
        if char in _KANJI_DIGITS:
            digit = _KANJI_DIGITS[char]
        else:
            total += (digit or 1) * _KANJI_UNITS[char]
            digit = 0
    return str(total + digit)


@functools.lru_cache(maxsize=65536)
def address_normalised(value: str) -> str:
    """An address with its numerals as digits and 丁目/番地/番/号/の/hyphens as one hyphen:
    東京都千代田区一丁目2-3, １丁目２番３号 and 1-2-3 all end in 1-2-3. Variation selectors
    go, as in every search form (primitives.text.search_key)."""
    value = unicodedata.normalize("NFKC", _SPACE.sub("", variation_selectors_dropped(value)))
    value = _KANJI_NUMBER.sub(_kanji_number, value)
    value = _BLOCK_WORDS.sub("-", value)
    value = re.sub(r"-+", "-", value).strip("-")
    return value.casefold()
