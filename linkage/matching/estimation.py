"""Estimating the matching's m and u from this installation's own data (SPEC 10.3).

Labelled pairs that the data itself holds:
- same person: two versions of one person sent by different business systems (each system
  keeps its own spelling, kana, typing errors and address form of the person: exactly the
  variation a match must tolerate), and the pairs a supervisor merged;
- different persons: random pairs of current versions of different persons (u, as Splink
  estimates it), and the pairs clerks marked 別人.

m and u are the level frequencies in each set, smoothed (a level never seen gets a small
count rather than zero, so no weight is infinite). The prior stays as configured.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from ..models import AddressVersion, PersonMerge, ReviewItem
from .scoring import COMPARATORS, FIELDS, LEVELS, Weights, default_weights

SMOOTHING = 0.5


def _frequencies(pairs: list[tuple[Any, Any]]) -> dict[str, dict[str, float]]:
    counts = {name: Counter[str]() for name in FIELDS}
    for a, b in pairs:
        for name in FIELDS:
            level = COMPARATORS[name](a, b)
            if level != "missing":
                counts[name][level] += 1
    levels = [level for level in LEVELS if level != "missing"]
    return {
        name: {
            level: (counts[name][level] + SMOOTHING)
            / (sum(counts[name].values()) + SMOOTHING * len(levels))
            for level in levels
        }
        for name in FIELDS
    }


def same_person_pairs(limit: int) -> list[tuple[AddressVersion, AddressVersion]]:
    """Each person's latest version per number system, paired across systems; then merges."""
    latest: dict[int, dict[str, AddressVersion]] = {}
    for version in (
        AddressVersion.objects.filter(source=AddressVersion.Source.ADDRESS_CHANGE)
        .order_by("person_id", "number_system", "-history_seq")
        .only("person_id", "number_system", "name", "name_kana", "birth_date", "sex", "address")
        .iterator(chunk_size=5000)
    ):
        latest.setdefault(version.person_id, {}).setdefault(version.number_system, version)
        if len(latest) > limit * 4:
            break
    pairs = []
    for systems in latest.values():
        versions = list(systems.values())
        pairs += [(versions[0], other) for other in versions[1:]]
    merges = list(
        PersonMerge.objects.filter(unmerged_at__isnull=True).values_list(
            "representative_id", "merged_id"
        )[:limit]
    )
    newest: dict[int, AddressVersion] = {}
    for version in AddressVersion.objects.filter(
        person_id__in={pk for pair in merges for pk in pair}
    ).order_by("person_id", "history_seq"):
        newest[version.person_id] = version  # the newest last
    pairs += [(newest[a], newest[b]) for a, b in merges if a in newest and b in newest]
    return pairs[:limit]


def different_person_pairs(
    limit: int, seed: int = 2026
) -> list[tuple[AddressVersion, AddressVersion]]:
    current = list(
        AddressVersion.objects.current()
        .order_by("?")
        .only("person_id", "name", "name_kana", "birth_date", "sex", "address")[: limit * 2]
    )
    rng = random.Random(seed)  # noqa: S311 (a sample, not a secret)
    pairs = []
    for _ in range(limit):
        if len(current) < 2:
            break
        a, b = rng.sample(current, 2)
        if a.person_id != b.person_id:
            pairs.append((a, b))
    marked = list(
        ReviewItem.objects.filter(
            outcome=ReviewItem.Outcome.DIFFERENT, other__isnull=False
        ).values_list("person_id", "other_id")[:limit]
    )
    current_of = {
        version.person_id: version
        for version in AddressVersion.objects.current().filter(
            person_id__in={pk for pair in marked for pk in pair}
        )
    }
    pairs += [
        (current_of[a], current_of[b]) for a, b in marked if a in current_of and b in current_of
    ]
    return pairs


def weights_estimate(*, pairs: int = 20_000) -> tuple[Weights, int, int]:
    """The weights from this installation's labelled pairs, and how many of each were used."""
    same = same_person_pairs(pairs)
    different = different_person_pairs(pairs)
    prior = default_weights().prior
    weights = Weights(
        m=_frequencies(same), u=_frequencies(different), prior=prior, source="estimated"
    )
    return weights, len(same), len(different)
