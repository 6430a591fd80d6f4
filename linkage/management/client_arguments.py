"""The arguments every command that creates a business system's client takes."""

from __future__ import annotations

from django.core.management.base import CommandParser


def client_arguments_add(parser: CommandParser) -> None:
    parser.add_argument("number_system", help="2-digit number system, e.g. 01 for 住基")
    parser.add_argument("name", help="a name administrators recognise, e.g. '住基 (vendor A)'")
    parser.add_argument(
        "--callback-url",
        default="",
        help="where linkage sends this system's notices (none are sent without one)",
    )
