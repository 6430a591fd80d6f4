"""`manage.py screen_persons [--all]`: duplicate screening (SPEC 10.3) of the stored persons
without an individual number, as the write path screens each new one: a review item for each
candidate above the review threshold. For after an `--initial-load`, which defers the indexes
screening reads. A pair already in the review list (in any state, 別人 included) is not
suggested again; by default only persons never screened are screened."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from linkage.matching.search import candidates_find
from linkage.models import AddressVersion, ReviewItem
from linkage.tables import build, insert


class Command(BaseCommand):
    help = "Screen the persons without an individual number for duplicates (review items)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--all", action="store_true", dest="again", help="screen those screened before too"
        )

    def handle(self, *args: Any, again: bool, **options: Any) -> None:
        versions = AddressVersion.objects.current().filter(
            person__individual_number_index__isnull=True, person__merged_into__isnull=True
        )
        if not again:
            versions = versions.exclude(
                person__review_items__kind=ReviewItem.Kind.POSSIBLE_DUPLICATE
            )
        # Every pair already listed, either way round, read once (not once per person).
        known = {
            frozenset(pair)
            for pair in ReviewItem.objects.filter(other__isnull=False).values_list(
                "person_id", "other_id"
            )
        }
        screened = opened = 0
        for version in versions.iterator(chunk_size=500):
            screened += 1
            candidates = candidates_find(
                version,
                limit=settings.MATCHING["review_candidates"],
                exclude={version.person_id},
            )
            items = [
                build(
                    ReviewItem,
                    kind=ReviewItem.Kind.POSSIBLE_DUPLICATE,
                    person_id=version.person_id,
                    other_id=candidate.person_id,
                    score=candidate.score,
                    agreement=candidate.agreement,
                )
                for candidate in candidates
                if frozenset((version.person_id, candidate.person_id)) not in known
            ]
            known |= {frozenset((version.person_id, c.person_id)) for c in candidates}
            insert(items)
            opened += len(items)
        self.stdout.write(
            f"screened {screened} persons without an individual number; "
            f"{opened} review items opened"
        )
