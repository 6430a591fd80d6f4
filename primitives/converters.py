"""URL path converters for the numbers in URLs (none of them the individual number)."""

from __future__ import annotations


class DigitsConverter:
    """A run of digits kept as a string (leading zeros matter); subclasses set the length."""

    regex = "[0-9]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class IntegratedNumberConverter(DigitsConverter):
    regex = "[0-9]{15}"


class NumberSystemConverter(DigitsConverter):
    regex = "[0-9]{2}"


class AddressNumberConverter(DigitsConverter):
    regex = "[0-9]{1,15}"
