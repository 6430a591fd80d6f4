"""`manage.py matching_weights [--pairs N] [--dry-run]`: estimate the matching's m and u from
this installation's persons (linkage/matching/estimation.py), print each item's weights, and
store them (MatchingWeights: the newest is what candidate search uses)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from linkage.matching.estimation import weights_estimate
from linkage.matching.scoring import FIELDS
from linkage.matching.search import current_weights_forget
from linkage.models import MatchingWeights

MINIMUM = 100  # fewer labelled pairs of either kind give no estimate worth using


class Command(BaseCommand):
    help = "Estimate and store the matching's field weights from this installation's data."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--pairs", type=int, default=20_000)
        parser.add_argument("--dry-run", action="store_true", help="print, store nothing")

    def handle(self, *args: Any, pairs: int, dry_run: bool, **options: Any) -> None:
        weights, same, different = weights_estimate(pairs=pairs)
        if min(same, different) < MINIMUM:
            raise CommandError(
                f"only {same} same-person and {different} different-person pairs: at least "
                f"{MINIMUM} of each are needed (persons known to several business systems); "
                "the default weights stay in use"
            )
        self.stdout.write(f"pairs: {same} same person, {different} different persons")
        for name in FIELDS:
            levels = ", ".join(
                f"{level} {weights.weight(name, level):+.1f}" for level in weights.m[name]
            )
            self.stdout.write(f"{name}: {levels}")
        if dry_run:
            return
        MatchingWeights.objects.create(
            weights=weights.as_dict(), method="labelled pairs", pairs=same + different
        )
        current_weights_forget()
        self.stdout.write(
            "stored: candidate search uses these weights from now on (other processes within "
            "a minute)"
        )
