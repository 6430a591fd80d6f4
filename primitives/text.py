"""Rules for the text and numbers people type, shared by every edge that takes them: the API
fields (linkage.api.fields) and the business systems' clerk forms (backbone.forms).

Each function returns the normalised value or raises InvalidText with a code; the edges turn
the code into their own message (English problem+json, or a Japanese form error). No message
here repeats the value, so an individual number cannot leak into an error.
"""

from __future__ import annotations

import datetime
import re
import sys
import time
import unicodedata
from functools import cache, lru_cache

import jaconv
from django.utils import timezone

from .numbers import is_valid_individual_number

# Unicode categories refused in text: controls (Cc), formats such as zero-width or bidi
# overrides (Cf), and lone surrogates (Cs). Private-use characters (Co) stay allowed: municipal
# systems carry 外字 there.
_FORBIDDEN_CATEGORIES = {"Cc", "Cf", "Cs"}
# Katakana (full-width) and spaces: what a kana field holds once half-width kana are widened.
KATAKANA_OR_SPACE = re.compile(r"[\u30a1-\u30fa\u30fc\u30fd\u30fe\u30fb\u3000 ]+")
EARLIEST_BIRTH_DATE = datetime.date(1868, 1, 1)
# The moments the server takes (SPEC 7.1): from 1868-01-01 in Japan, with an offset a real
# time zone has (UTC+14, the Line Islands, is the largest in use; PostgreSQL keeps up to
# ±15:59 only). The latest a query may name keeps a day's margin below Python's year 9999,
# so converting it to any time zone cannot overflow.
JAPAN = datetime.timezone(datetime.timedelta(hours=9))
EARLIEST_MOMENT = datetime.datetime(1868, 1, 1, tzinfo=JAPAN)
LATEST_MOMENT = datetime.datetime(9999, 12, 30, tzinfo=datetime.UTC)
LARGEST_UTC_OFFSET = datetime.timedelta(hours=14)


class InvalidText(ValueError):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@cache
def _forbidden_pattern() -> re.Pattern[str]:
    """One character class of every code point in the forbidden categories, built once from
    this Python's Unicode database (about 0.2 s): a regex search is many times faster than
    asking unicodedata about each character of every name."""
    ranges: list[str] = []
    start = previous = -2
    for code_point in range(sys.maxunicode + 1):
        if unicodedata.category(chr(code_point)) in _FORBIDDEN_CATEGORIES:
            if code_point != previous + 1:
                if start >= 0:
                    ranges.append(_range(start, previous))
                start = code_point
            previous = code_point
    ranges.append(_range(start, previous))
    return re.compile("[" + "".join(ranges) + "]")


def _range(first: int, last: int) -> str:
    return f"\\U{first:08x}-\\U{last:08x}"


def has_forbidden_characters(value: str) -> bool:
    return _forbidden_pattern().search(value) is not None


def today_in_japan() -> datetime.date:
    """Today in Japan (the date checks run per row; the clock is read at most once a second)."""
    return _today(int(time.monotonic()))


@lru_cache(maxsize=1)
def _today(_second: int) -> datetime.date:
    return timezone.localdate()


def digits_normalise(value: str, *, min_digits: int, max_digits: int) -> str:
    """ASCII digits; full-width digits (０-９) are accepted and converted. Code `digits`."""
    value = jaconv.z2h(value, kana=False, ascii=False, digit=True)
    if not re.fullmatch(rf"[0-9]{{{min_digits},{max_digits}}}", value):
        raise InvalidText("digits")
    return value


def individual_number_normalise(value: str) -> str:
    """12 digits with a valid check digit (SPEC 4.1). Codes `digits`, `check_digit`."""
    value = digits_normalise(value, min_digits=12, max_digits=12)
    if not is_valid_individual_number(value):
        raise InvalidText("check_digit")
    return value


_SPACES = re.compile(r"[ \u3000]+")


# A kana and a combining voiced or semi-voiced sound mark after it: ガ written as カ + U+3099,
# the decomposed form (NFD) macOS and some libraries write.
_KANA_WITH_COMBINING_MARK = re.compile("[\u3041-\u30ff][\u3099\u309a]")


def kana_marks_composed(value: str) -> str:
    """Each kana with a combining sound mark after it as the one letter it is (ガ, パ). Only
    these pairs: NFC over a whole name would also change its CJK compatibility ideographs,
    which a municipality's systems may hold on purpose."""
    if "\u3099" not in value and "\u309a" not in value:
        return value
    return _KANA_WITH_COMBINING_MARK.sub(lambda m: unicodedata.normalize("NFC", m[0]), value)


def spaces_normalise(value: str) -> str:
    """Each run of half- or full-width spaces one full-width space, none at either end."""
    return _SPACES.sub("\u3000", value).strip(" \u3000")


def name_spaces_normalise(value: str) -> str:
    """A name as the standard writes 氏名 (SPEC 7.1): its spaces as spaces_normalise leaves
    them, and kana with combining sound marks composed."""
    return spaces_normalise(kana_marks_composed(value))


def katakana_normalise(value: str) -> str:
    """Full- or half-width katakana and spaces, returned full-width, its spaces as a name's
    (name_spaces_normalise). Code `not_katakana`."""
    value = kana_marks_composed(jaconv.h2z(value, kana=True, ascii=False, digit=False))
    if value and not KATAKANA_OR_SPACE.fullmatch(value):
        raise InvalidText("not_katakana")
    return name_spaces_normalise(value)


def birth_date_check(value: datetime.date, *, allow_future: bool = False) -> datetime.date:
    """A date of birth: codes `future_date`, `too_early`."""
    if not allow_future and value > today_in_japan():
        raise InvalidText("future_date")
    if value < EARLIEST_BIRTH_DATE:
        raise InvalidText("too_early")
    return value


def moment_check(
    value: datetime.datetime, *, latest: datetime.datetime = LATEST_MOMENT
) -> datetime.datetime:
    """An aware moment within the bounds above and not after `latest`. Code `out_of_range`."""
    offset = value.utcoffset()
    if offset is None or abs(offset) > LARGEST_UTC_OFFSET:
        raise InvalidText("out_of_range")
    if not EARLIEST_MOMENT <= value <= latest:
        raise InvalidText("out_of_range")
    return value


def date_in_range(value: datetime.date) -> datetime.date:
    """A day a query may name (a period's end): 1868-01-01 to 9999-12-29, so that the day
    after it, in any time zone, is still a date. Code `out_of_range`."""
    if not EARLIEST_BIRTH_DATE <= value < LATEST_MOMENT.date():
        raise InvalidText("out_of_range")
    return value


_WHITESPACE = re.compile(r"\s+")
# Unicode's Variation_Selector characters. Each follows a letter and chooses one of its glyphs
# (an IVS of the 文字情報基盤 / 行政事務標準文字: 葛 + U+E0100 is one of 葛's drawings), never
# another letter; NFKC keeps them, so a name sent with one would not meet the name typed
# without it.
_VARIATION_SELECTORS = re.compile("[\u180b-\u180d\u180f\ufe00-\ufe0f\U000e0100-\U000e01ef]")


def variation_selectors_dropped(value: str) -> str:
    """`value` without its variation selectors: each letter as its plain character."""
    return _VARIATION_SELECTORS.sub("", value)


@lru_cache(maxsize=65536)  # a person's name and address recur in each of its changes
def search_key(value: str) -> str:
    """The form in which names, kana and addresses are stored for search and queries are
    compared: NFKC (full- and half-width alike), hiragana as katakana, small kana as large,
    no spaces, no variation selectors, case folded. "やまだ　たろう", "ﾔﾏﾀﾞﾀﾛｳ" and
    "ヤマダ タロウ" give one key, and so do 葛飾 typed and 葛飾 sent with an IVS on 葛."""
    value = jaconv.normalize(variation_selectors_dropped(value))
    value = jaconv.enlarge_smallkana(jaconv.hira2kata(value))
    # Normalised once more at the end: removing a space can join a combining mark to the
    # letter before it (A¯ -> A + space + U+0304), which must compose as a stored key would.
    return jaconv.normalize(_WHITESPACE.sub("", value).casefold())


def name_search_key(name: str, name_kana: str) -> str:
    """Name and kana in one key, separated by a line feed that no query key can hold (search
    keys have no whitespace), so one index serves both and no match spans the two."""
    return f"{search_key(name)}\n{search_key(name_kana)}"
