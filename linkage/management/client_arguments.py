"""The arguments of the commands that create a business system's client or rotate a key."""

from __future__ import annotations

import argparse
import math

from django.core.management.base import CommandParser

# The longest an old key or secret may keep working after a rotation: a month, for a vendor's
# release cycle. Longer, the rotation would no longer end the old one.
GRACE_HOURS_MAX = 24 * 31


def client_arguments_add(parser: CommandParser) -> None:
    parser.add_argument("number_system", help="2-digit number system, e.g. 01 for 住基")
    parser.add_argument("name", help="a name administrators recognise, e.g. '住基 (vendor A)'")
    parser.add_argument(
        "--callback-url",
        default="",
        help="where linkage sends this system's notices (none are sent without one)",
    )


def _grace_hours(text: str) -> float:
    try:
        hours = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of hours") from None
    if not (math.isfinite(hours) and 0 <= hours <= GRACE_HOURS_MAX):
        raise argparse.ArgumentTypeError(
            f"must be from 0 (the old one ends now) to {GRACE_HOURS_MAX} hours"
        )
    return hours


def grace_hours_add(parser: CommandParser, what: str) -> None:
    parser.add_argument(
        "--grace-hours",
        type=_grace_hours,
        default=24.0,
        help=f"how long the old {what} keeps working (default 24; 0 ends it now; "
        f"at most {GRACE_HOURS_MAX})",
    )
