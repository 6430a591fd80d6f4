"""`manage.py national_registry enrol|invalidate|unknown|list`: the simulated 住基全国サーバー's
registry. With NATIONAL_REGISTRY_OPEN (the sandbox's default) it knows every valid number but
those marked `unknown`; without it, only the numbers enrolled.

Individual numbers are read from standard input, one a line, so they never appear in a shell
history or a process list:

    printf '983205673214\n' | python manage.py national_registry enrol
    printf '983205673214\n' | python manage.py national_registry invalidate
    printf '983205673214\n' | python manage.py national_registry unknown
    python manage.py national_registry list
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from intermediate.models import RegistryEntry
from intermediate.services import registry_enrol, registry_invalidate, registry_mark_unknown
from primitives.crypto import mask_individual_number
from primitives.numbers import is_valid_individual_number


class Command(BaseCommand):
    help = __doc__
    # call_command(..., stdin=StringIO(...)) for scripts such as seed_demo.
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["enrol", "invalidate", "unknown", "list"])

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "list":
            for entry in RegistryEntry.objects.order_by("pk"):
                state = (
                    "unknown"
                    if entry.unknown
                    else "invalidated"
                    if entry.invalidated_at
                    else "valid"
                )
                masked = mask_individual_number(entry.individual_number)
                self.stdout.write(f"{masked} {entry.resident_code or '-'} {state}")
            return
        done = 0
        for line_number, line in enumerate(options.get("stdin") or sys.stdin, start=1):
            number = line.strip()
            if not number:
                continue
            if not is_valid_individual_number(number):
                raise CommandError(f"line {line_number}: not a valid individual number")
            if action == "enrol":
                registry_enrol(individual_number=number)
                done += 1
            elif action == "unknown":
                registry_mark_unknown(individual_number=number)
                done += 1
            elif registry_invalidate(individual_number=number):
                done += 1
        self.stdout.write(f"{action}: {done} entries")
