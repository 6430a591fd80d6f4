"""Dates as clerks type them: 西暦 with hyphens, slashes or 年月日, eight digits, and 和暦.

Accepted, in full- or half-width characters, with or without leading zeros:

- 西暦: `1986-03-21`, `1986-3-21`, `1986/3/21`, `1986.3.21`, `1986年3月21日`, `19860321`;
- 和暦: the era by name or initial (`昭和61年3月21日`, `S61.3.21`, `s61/3/21`, `S610321`),
  `元年` for the first year (`令和元年5月1日`, `R元.5.1`).

The eras are the five since the calendar reform (元号法, and the first year of 明治 counted
from 1 January 1868 as resident records count it). A date before its era began or after it
ended is refused (`平成31年5月1日` is 令和元年5月1日), as a clerk's mistake, not corrected.

A pure function of the text: the edges (clerk forms, filters) turn InvalidText's code into
their own message, and no message repeats the value typed.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass

from .text import InvalidText


@dataclass(frozen=True)
class Era:
    name: str
    initial: str
    first_day: datetime.date  # the day the era's year 1 is counted from
    starts: datetime.date  # its first day as an era (the day after the previous one ended)


ERAS = (
    Era("明治", "M", datetime.date(1868, 1, 1), datetime.date(1868, 1, 1)),
    Era("大正", "T", datetime.date(1912, 1, 1), datetime.date(1912, 7, 30)),
    Era("昭和", "S", datetime.date(1926, 1, 1), datetime.date(1926, 12, 25)),
    Era("平成", "H", datetime.date(1989, 1, 1), datetime.date(1989, 1, 8)),
    Era("令和", "R", datetime.date(2019, 1, 1), datetime.date(2019, 5, 1)),
)
_BY_NAME = {era.name: era for era in ERAS} | {era.initial: era for era in ERAS}

# The forms this module reads, as a clerk is told them.
ACCEPTED_FORMS = "1986-03-21、1986/3/21、19860321、S61.3.21、昭和61年3月21日"

_SEP = r"\s*[-/.・年月ー−‐]\s*"
_GREGORIAN = re.compile(rf"(\d{{4}}){_SEP}(\d{{1,2}}){_SEP}(\d{{1,2}})\s*日?")
_GREGORIAN_DIGITS = re.compile(r"(\d{4})(\d{2})(\d{2})")
_ERA_NAMES = "|".join(_BY_NAME)
_JAPANESE = re.compile(rf"({_ERA_NAMES})\s*(元|\d{{1,2}}){_SEP}(\d{{1,2}}){_SEP}(\d{{1,2}})\s*日?")
_JAPANESE_DIGITS = re.compile(rf"({_ERA_NAMES})(\d{{2}})(\d{{2}})(\d{{2}})")


def date_parse(text: str) -> datetime.date:
    """The date `text` names. Codes: `format` (none of the accepted forms), `not_a_date`
    (no such day), `not_in_era` (the era had not begun or had ended on that day)."""
    # NFKC: full-width digits, letters and slashes as ASCII; ㍼ (one character) as 昭和.
    value = unicodedata.normalize("NFKC", text).strip().upper()
    if match := _GREGORIAN.fullmatch(value) or _GREGORIAN_DIGITS.fullmatch(value):
        year, month, day = (int(part) for part in match.groups())
        return _day(year, month, day)
    if match := _JAPANESE.fullmatch(value) or _JAPANESE_DIGITS.fullmatch(value):
        era = _BY_NAME[match[1]]
        era_year = 1 if match[2] == "元" else int(match[2])
        if era_year == 0:
            raise InvalidText("not_a_date")
        named = _day(era.first_day.year + era_year - 1, int(match[3]), int(match[4]))
        following = ERAS.index(era) + 1
        if named < era.starts or (following < len(ERAS) and named >= ERAS[following].starts):
            raise InvalidText("not_in_era")
        return named
    raise InvalidText("format")


def _day(year: int, month: int, day: int) -> datetime.date:
    try:
        return datetime.date(year, month, day)
    except ValueError:
        raise InvalidText("not_a_date") from None


def japanese_date(value: datetime.date) -> str:
    """`value` in 和暦 (令和6年4月1日; 元年 for the first year), for showing beside 西暦."""
    era = next(era for era in reversed(ERAS) if value >= era.starts)
    year = value.year - era.first_day.year + 1
    return f"{era.name}{'元' if year == 1 else year}年{value.month}月{value.day}日"
