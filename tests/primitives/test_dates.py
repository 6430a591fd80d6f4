"""Dates as clerks type them (primitives.dates)."""

from __future__ import annotations

import datetime

import pytest

from primitives.dates import date_parse, japanese_date
from primitives.text import InvalidText

BIRTH = datetime.date(1986, 3, 21)


@pytest.mark.parametrize(
    "typed",
    [
        "1986-03-21",
        "1986-3-21",
        "1986/03/21",
        "1986/3/21",
        "1986.3.21",
        "1986年3月21日",
        "19860321",
        "１９８６／３／２１",  # full-width digits and slashes
        "１９８６年３月２１日",
        "S61.3.21",
        "s61/3/21",
        "Ｓ６１．３．２１",
        "S610321",
        "昭和61年3月21日",
        "昭和６１年３月２１日",
        " 昭和 61 年 3 月 21 日 ",
        "㍼61年3月21日",  # the one-character era sign
        "1986ー3ー21",  # the long-vowel mark an IME gives for a hyphen
    ],
)
def test_every_form_clerks_type_names_the_same_day(typed: str) -> None:
    assert date_parse(typed) == BIRTH


@pytest.mark.parametrize(
    ("typed", "day"),
    [
        ("R6.4.1", datetime.date(2024, 4, 1)),
        ("令和6年4月1日", datetime.date(2024, 4, 1)),
        ("令和元年5月1日", datetime.date(2019, 5, 1)),
        ("R元.5.1", datetime.date(2019, 5, 1)),
        ("H31.4.30", datetime.date(2019, 4, 30)),  # the last day of 平成
        ("H1.1.8", datetime.date(1989, 1, 8)),  # the first day of 平成
        ("S64.1.7", datetime.date(1989, 1, 7)),  # the last day of 昭和
        ("T15.12.24", datetime.date(1926, 12, 24)),
        ("S1.12.25", datetime.date(1926, 12, 25)),
        ("M45.7.29", datetime.date(1912, 7, 29)),
        ("T1.7.30", datetime.date(1912, 7, 30)),
        ("M1.1.1", datetime.date(1868, 1, 1)),
    ],
)
def test_japanese_eras_count_from_their_first_year(typed: str, day: datetime.date) -> None:
    assert date_parse(typed) == day


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("平成31年5月1日", "not_in_era"),  # that day is 令和元年5月1日
        ("H1.1.7", "not_in_era"),  # still 昭和64年
        ("T1.7.29", "not_in_era"),
        ("S1.12.24", "not_in_era"),
        ("R1.4.30", "not_in_era"),
        ("1986-02-30", "not_a_date"),
        ("S61.2.30", "not_a_date"),
        ("S0.1.1", "not_a_date"),
        ("1986-13-01", "not_a_date"),
        ("", "format"),
        ("21/03/1986", "format"),  # day first is not a Japanese form
        ("X61.3.21", "format"),
        ("昭和", "format"),
        ("1986-03-21T09:00", "format"),
    ],
)
def test_what_is_not_a_day_is_refused_with_its_reason(typed: str, code: str) -> None:
    with pytest.raises(InvalidText) as refused:
        date_parse(typed)
    assert refused.value.code == code


@pytest.mark.parametrize(
    ("day", "shown"),
    [
        (BIRTH, "昭和61年3月21日"),
        (datetime.date(2019, 5, 1), "令和元年5月1日"),
        (datetime.date(2019, 4, 30), "平成31年4月30日"),
        (datetime.date(1926, 12, 25), "昭和元年12月25日"),
    ],
)
def test_a_day_is_shown_in_its_era(day: datetime.date, shown: str) -> None:
    assert japanese_date(day) == shown
    assert date_parse(shown) == day
