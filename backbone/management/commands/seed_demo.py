"""`manage.py seed_demo --residents N`: synthetic residents registered the way clerks do it.

Each resident is registered in 住基 through the business system's own service (its address
number, its table, the address change sent to linkage over real HTTP); a share of them is
also known to 税, 国保 and 福祉, as in a real municipality, and a share then moves house, which
linkage passes on to the other systems by notice. The systems must be connected
(`manage.py demo` does it) and linkage must be answering at their linkage URL.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from io import StringIO
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from backbone.models import BusinessSystem, Submission
from backbone.services import resident_change, resident_register
from backbone.synthetic import ResidentGenerator

# How many residents each system knows besides 住基 (which knows everyone).
SHARES = {"02": 0.6, "03": 0.25, "04": 0.1}


# The other institution the sandbox simulates whole (SPEC 11): 東京都千代田区.
SECOND_INSTITUTION = "131016"


class Command(BaseCommand):
    help = "Register N synthetic residents through the simulated business systems."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--residents", type=int, default=12)
        parser.add_argument("--seed", type=int, default=None, help="repeatable data")
        parser.add_argument(
            "--moves", type=float, default=0.25, help="share of residents who then move house"
        )
        parser.add_argument(
            "--unknown-to-registry",
            type=int,
            default=1,
            help="the last K residents are marked unknown to the simulated national registry, "
            "so their code requests end in the error list",
        )

    def handle(
        self,
        *args: Any,
        residents: int,
        seed: int | None,
        moves: float,
        unknown_to_registry: int,
        **options: Any,
    ) -> None:
        if residents < 1:
            raise CommandError("--residents must be at least 1")
        systems = {system.number_system: system for system in BusinessSystem.objects.all()}
        if "01" not in systems:
            raise CommandError(
                "the business systems are not connected to linkage; run `manage.py demo`"
            )
        generator = ResidentGenerator(seed=seed)
        draw = random.Random(seed)  # noqa: S311 (synthetic data)
        outcomes: Counter[str] = Counter()
        records: Counter[str] = Counter()
        for index in range(residents):
            someone = generator.resident()
            # The simulated national registry's own command (the number on its stdin): it
            # knows every resident but the last K, marked unknown to show the error list.
            call_command(
                "national_registry",
                "enrol" if index < residents - unknown_to_registry else "unknown",
                stdin=StringIO(someone.individual_number + "\n"),
                stdout=StringIO(),
            )
            basic = {
                "name": someone.name,
                "name_kana": someone.name_kana,
                "birth_date": someone.birth_date,
                "sex": someone.sex,
                "address": someone.address,
            }
            # Each system gets its share of the residents, spread evenly and never none
            # (a resident joins when index x share crosses a whole number).
            wanted = ["01"] + [
                ns
                for ns, share in SHARES.items()
                if math.floor((index + 1) * share) > math.floor(index * share)
                or (index == residents - 1 and math.floor(residents * share) == 0)
            ]
            if "04" in wanted:
                # A resident 福祉 knows is also known to 千代田区, the sandbox's second
                # institution, which holds an income copy: 福祉's inquiries are answered.
                call_command(
                    "simulated_institution",
                    SECOND_INSTITUTION,
                    stdin=StringIO(someone.individual_number + "\n"),
                    stdout=StringIO(),
                )
            jyuki_record = None
            for number_system in wanted:
                if number_system not in systems:
                    continue
                outcome = resident_register(
                    system=systems[number_system],
                    individual_number=someone.individual_number,
                    items={**basic, **generator.business_items(number_system, someone)},
                )
                outcomes[outcome.submission.status] += 1
                records[number_system] += 1
                if number_system == "01":
                    jyuki_record = outcome.record
            if jyuki_record is not None and draw.random() < moves:
                moved = generator.moved(someone)
                outcome = resident_change(
                    system=systems["01"], record=jyuki_record, items={"address": moved.address}
                )
                outcomes[outcome.submission.status] += 1
                outcomes["moves"] += 1
        self.stdout.write(
            f"Registered {residents} residents: "
            + ", ".join(f"{systems[ns].name} {count}" for ns, count in sorted(records.items()))
            + f"; {outcomes['moves']} moved house. Address changes: "
            + ", ".join(
                f"{status} {outcomes[status]}"
                for status in Submission.Status.values
                if outcomes[status]
            )
        )
        failed = sum(
            outcomes[s] for s in (Submission.Status.REFUSED, Submission.Status.UNREACHABLE)
        )
        if failed:
            raise CommandError(
                f"{failed} address change(s) did not get through; see the business systems' "
                "screens for the reasons"
            )
