"""`manage.py simulated_institution LG_CODE`: residents of another institution the sandbox
simulates whole (its own linkage does not run here), so this municipality's inquiries to it
are answered (SPEC 11). Each individual number on standard input, one a line (never in a shell
history or a process list), becomes a person of that institution with its code, known to the
network by the national registry's resident code, and an income copy (地方税関係情報):

    printf '983205673214\\n' | python manage.py simulated_institution 131016
"""

from __future__ import annotations

import datetime
import sys
import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from intermediate.exchange import institution_person_add, permitted_exchanges_load
from intermediate.models import CodeInformation, CopyRecord
from intermediate.services import registry_resolve
from primitives.numbers import (
    integrated_number_from_serial,
    is_valid_individual_number,
    is_valid_lg_code,
)

# That institution's own integrated numbers start here (they are its numbers, not ours).
FIRST_SERIAL = 50_000_000


class Command(BaseCommand):
    help = __doc__
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("lg_code")
        parser.add_argument("--fiscal-year", type=int, default=2025)

    def handle(self, *args: Any, lg_code: str, fiscal_year: int, **options: Any) -> None:
        if not is_valid_lg_code(lg_code):
            raise CommandError(f"{lg_code!r} is not a local government code")
        permitted_exchanges_load()
        added = 0
        for line_number, line in enumerate(options.get("stdin") or sys.stdin, start=1):
            number = line.strip()
            if not number:
                continue
            if not is_valid_individual_number(number):
                raise CommandError(f"line {line_number}: not an individual number")
            resident_code, error = registry_resolve(number)
            if error:
                continue  # unknown to the national registry: no code anywhere
            serial = FIRST_SERIAL + CodeInformation.objects.filter(lg_code=lg_code).count() + 1
            integrated = integrated_number_from_serial(serial)
            institution_person_add(
                lg_code=lg_code, integrated_number=integrated, resident_code=resident_code
            )
            CopyRecord.objects.get_or_create(
                lg_code=lg_code,
                integrated_number=integrated,
                data_set="local_tax_income",
                defaults={
                    "copy_id": str(uuid.uuid4()),
                    "revision": 1,
                    "record_key": f"{fiscal_year}-{serial}",
                    "items": {
                        "fiscal_year": fiscal_year,
                        "income_amount": 3_000_000 + serial % 1_000 * 1_000,
                    },
                    "valid_from": datetime.date(fiscal_year, 6, 1),
                },
            )
            added += 1
        self.stdout.write(f"{lg_code}: {added} residents with an income copy")
