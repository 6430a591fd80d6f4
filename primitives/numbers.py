"""Check digits of the numbers the product handles (SPEC section 4).

Pure functions, no Django: the same rules serve the API, the clerk UI, the importer and the
simulators.
"""

from __future__ import annotations

import re

INDIVIDUAL_NUMBER_LENGTH = 12
INTEGRATED_NUMBER_LENGTH = 15
LG_CODE_LENGTH = 6

_ASCII_DIGITS = re.compile(r"[0-9]+")

# What looks like an individual number (linkage.masking keeps it out of every record, answer
# and log line): twelve digits, ASCII or full-width, standing alone, written together or with
# spaces or hyphens between them, also percent-encoded as a URL carries it.
_PLAIN_DIGIT = "[0-9\uff10-\uff19]"
# A digit as text, or percent-encoded (ASCII 0-9 is %30-%39, full-width ０-９ %EF%BC%90-99).
_DIGIT = f"(?:{_PLAIN_DIGIT}|%3[0-9]|%[eE][fF]%[bB][cC]%9[0-9])"
# Spaces (ASCII, ideographic, tab, '+' in a query) and hyphens or dashes of every width
# between digits, as text or percent-encoded.
_SEPARATOR = (
    "(?:[ \t\u3000+\\-\u2010-\u2015\u2212\uff0d\u30fc\uff70]"
    "|%20|%2[dD]|%[eE]3%80%80|%[eE][fF]%[bB][cC]%8[dD]|%[eE]2%88%92|%[eE]3%83%[bB][cC]){0,3}"
)
NUMBER_SHAPED = re.compile(
    rf"(?<!{_PLAIN_DIGIT}){_DIGIT}(?:{_SEPARATOR}{_DIGIT}){{11}}(?!{_DIGIT})"
)


def is_number_shaped(text: str) -> bool:
    return NUMBER_SHAPED.search(text) is not None


def mod11_check_digit(body: str) -> int:
    """The mod-11 check digit of SPEC 4.1, generalised to any length.

    Pn is the n-th digit from the right; its weight Qn runs 2,3,4,5,6,7 and repeats, which for
    11 digits is exactly the ministerial ordinance's Qn = n+1 (n <= 6), n-5 (n >= 7).
    """
    total = sum(int(digit) * ((n - 1) % 6 + 2) for n, digit in enumerate(reversed(body), start=1))
    remainder = total % 11
    return 0 if remainder <= 1 else 11 - remainder


def is_ascii_digits(value: str, length: int | None = None) -> bool:
    if not _ASCII_DIGITS.fullmatch(value):
        return False
    return length is None or len(value) == length


def individual_number_check_digit(first_eleven: str) -> int:
    """Check digit of an individual number (個人番号) from its 11 leading digits."""
    if not is_ascii_digits(first_eleven, INDIVIDUAL_NUMBER_LENGTH - 1):
        raise ValueError("an individual number body is 11 ASCII digits")
    return mod11_check_digit(first_eleven)


def is_valid_individual_number(value: str) -> bool:
    return is_ascii_digits(value, INDIVIDUAL_NUMBER_LENGTH) and int(
        value[-1]
    ) == individual_number_check_digit(value[:-1])


def lg_code_check_digit(first_five: str) -> int:
    """Check digit of a local government code (団体コード), SPEC 4.2."""
    if not is_ascii_digits(first_five, LG_CODE_LENGTH - 1):
        raise ValueError("a local government code body is 5 ASCII digits")
    total = sum(
        int(digit) * weight for digit, weight in zip(first_five, (6, 5, 4, 3, 2), strict=True)
    )
    return (11 - total % 11) % 10


def is_valid_lg_code(value: str) -> bool:
    return is_ascii_digits(value, LG_CODE_LENGTH) and int(value[-1]) == lg_code_check_digit(
        value[:-1]
    )


def integrated_number_from_serial(serial: int) -> str:
    """The integrated address number (統合宛名番号) of a sequence value: 14 digits + check."""
    if not 0 < serial < 10 ** (INTEGRATED_NUMBER_LENGTH - 1):
        raise ValueError("integrated number serial out of range")
    body = f"{serial:0{INTEGRATED_NUMBER_LENGTH - 1}d}"
    return f"{body}{mod11_check_digit(body)}"


def is_valid_integrated_number(value: str) -> bool:
    return is_ascii_digits(value, INTEGRATED_NUMBER_LENGTH) and int(value[-1]) == mod11_check_digit(
        value[:-1]
    )


def individual_number_complete(first_eleven: str) -> str:
    """The full 12-digit individual number for 11 leading digits."""
    return f"{first_eleven}{individual_number_check_digit(first_eleven)}"


RESIDENT_CODE_LENGTH = 11


def resident_code_complete(first_ten: str) -> str:
    """A resident code (住民票コード, national side only): 10 digits + mod-11 check digit."""
    if not is_ascii_digits(first_ten, RESIDENT_CODE_LENGTH - 1):
        raise ValueError("a resident code body is 10 ASCII digits")
    return f"{first_ten}{mod11_check_digit(first_ten)}"
