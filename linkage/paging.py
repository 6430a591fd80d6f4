"""Pagination of searches: the count stops at a cap.

Counting every match of a common family name among a million persons reads tens of
thousands of rows for a figure no clerk needs exactly; past the cap the screen says "more
than 1,000" and asks for a narrower search. Exports (the changed-resident list) are not
searches and count everything.
"""

from __future__ import annotations

from typing import Any, cast

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property

SEARCH_COUNT_CAP = 1000


class CappedPaginator(Paginator):
    cap = SEARCH_COUNT_CAP

    @cached_property
    def count(self) -> int:
        """The number of matches, or `cap` + 1 when there are more."""
        matches = cast(QuerySet[Any], self.object_list)
        return matches.order_by()[: self.cap + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > self.cap
