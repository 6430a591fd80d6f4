"""`manage.py screen_persons [--all]`: duplicate screening (SPEC 10.3) of the stored persons
without an individual number, as the write path screens each new one: a review item for each
candidate above the review threshold. For after an `--initial-load`, which defers the indexes
screening reads. A pair already in the review list (in any state, 別人 included) is not
suggested again; by default only persons never screened are screened
(linkage.services.screening)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from linkage.models import ReviewItem
from linkage.services.screening import pairs_listed, persons_screen, unnumbered_current_versions


class Command(BaseCommand):
    help = "Screen the persons without an individual number for duplicates (review items)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--all", action="store_true", dest="again", help="screen those screened before too"
        )

    def handle(self, *args: Any, again: bool, **options: Any) -> None:
        versions = unnumbered_current_versions()
        if not again:
            versions = versions.exclude(
                person__review_items__kind=ReviewItem.Kind.POSSIBLE_DUPLICATE
            )
        # Every pair already listed, either way round, read once (not once per person).
        done = persons_screen(versions.iterator(chunk_size=500), pairs_listed())
        self.stdout.write(
            f"screened {done.persons} persons without an individual number; "
            f"{done.opened} review items opened"
        )
