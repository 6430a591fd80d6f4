"""Check digits (SPEC section 4), against the ordinance's formula written out independently."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from primitives.numbers import (
    individual_number_check_digit,
    individual_number_complete,
    integrated_number_from_serial,
    is_valid_individual_number,
    is_valid_integrated_number,
    is_valid_lg_code,
    lg_code_check_digit,
)


def ordinance_check_digit(first_eleven: str) -> int:
    """総務省令 第85号 第5条, literally: Pn from the right, Qn = n+1 (n<=6), n-5 (n>=7)."""
    total = 0
    for n in range(1, 12):
        p = int(first_eleven[11 - n])
        q = n + 1 if n <= 6 else n - 5
        total += p * q
    remainder = total % 11
    return 0 if remainder <= 1 else 11 - remainder


def test_the_ordinance_example_is_valid() -> None:
    assert individual_number_check_digit("98320567321") == 4
    assert is_valid_individual_number("983205673214")


@pytest.mark.parametrize("wrong", [d for d in "0123456789" if d != "4"])
def test_every_other_check_digit_is_refused(wrong: str) -> None:
    assert not is_valid_individual_number(f"98320567321{wrong}")


@given(st.text(alphabet="0123456789", min_size=11, max_size=11))
def test_check_digit_matches_the_ordinance_for_any_number(first_eleven: str) -> None:
    assert individual_number_check_digit(first_eleven) == ordinance_check_digit(first_eleven)
    assert is_valid_individual_number(individual_number_complete(first_eleven))


@pytest.mark.parametrize(
    "value",
    [
        "98320567321",
        "9832056732140",
        "98320567321a",
        "９８３２０５６７３２１４",
        "٩٨٣٢٠٥٦٧٣٢١٤",
        "",
    ],
)
def test_individual_numbers_must_be_twelve_ascii_digits(value: str) -> None:
    assert not is_valid_individual_number(value)


@pytest.mark.parametrize("code", ["141003", "131016", "271004", "011002"])
def test_local_government_codes_of_spec_are_valid(code: str) -> None:
    assert is_valid_lg_code(code)
    assert lg_code_check_digit(code[:5]) == int(code[5])


@pytest.mark.parametrize("code", ["141004", "13101", "1310166", "abcdef"])
def test_bad_local_government_codes_are_refused(code: str) -> None:
    assert not is_valid_lg_code(code)


def test_integrated_number_is_fixed_width_with_a_mod11_check_digit() -> None:
    number = integrated_number_from_serial(12345)
    assert len(number) == 15
    assert number.startswith("00000000012345")
    # The same mod-11 rule as the individual number: for the 11 trailing digits of the body
    # the weights coincide, and the leading zeros add nothing.
    assert int(number[-1]) == ordinance_check_digit(number[3:14])
    assert is_valid_integrated_number(number)
    assert not is_valid_integrated_number(number[:-1] + str((int(number[-1]) + 1) % 10))


@pytest.mark.parametrize("serial", [0, -1, 10**14])
def test_integrated_number_serial_out_of_range_is_refused(serial: int) -> None:
    with pytest.raises(ValueError, match="out of range"):
        integrated_number_from_serial(serial)
