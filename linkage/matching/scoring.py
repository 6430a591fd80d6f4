"""Fellegi-Sunter scoring of two persons' basic items (SPEC 10.3).

Each field is compared to a level (exact, normalised, variant, similar, different, missing);
each level has m = P(level | same person) and u = P(level | different persons), and adds
log2(m / u) to the score (its weight); a missing value adds nothing. The sum, with the prior
odds of a match among the compared pairs, gives the probability of a match, shown as 0-100.
So every score is explained field by field: `Comparison.agreement` and `Comparison.weights`.

The m and u come from MatchingWeights (estimated from this installation's data by
`manage.py matching_weights`, EM as Splink does) or, before any estimate, from
data/weights.json (estimated from bench/matching.py's labelled synthetic set).
"""

from __future__ import annotations

import datetime
import functools
import json
import math
from dataclasses import dataclass, field
from typing import Any, Protocol

from rapidfuzz.distance import Levenshtein

from .forms import DATA, address_normalised, normalised, variant

LEVELS = ("exact", "normalised", "variant", "similar", "different", "missing")
FIELDS = ("name", "name_kana", "birth_date", "sex", "address")


class Basic(Protocol):
    """Basic items: a version, an incoming change's, or a search query (any may be empty)."""

    @property
    def name(self) -> str: ...
    @property
    def name_kana(self) -> str: ...
    @property
    def birth_date(self) -> datetime.date | None: ...
    @property
    def sex(self) -> str: ...
    @property
    def address(self) -> str: ...


@dataclass(frozen=True)
class Weights:
    """m and u per field and level, and the prior probability of a match among compared
    (blocked) pairs. `source` says where they came from."""

    m: dict[str, dict[str, float]]
    u: dict[str, dict[str, float]]
    prior: float
    source: str = "default"

    def weight(self, name: str, level: str) -> float:
        if level == "missing":
            return 0.0
        return math.log2(self.m[name][level] / self.u[name][level])

    def as_dict(self) -> dict[str, Any]:
        return {"m": self.m, "u": self.u, "prior": self.prior, "source": self.source}

    @classmethod
    def of(cls, data: dict[str, Any], source: str) -> Weights:
        return cls(m=data["m"], u=data["u"], prior=float(data["prior"]), source=source)


@functools.cache
def default_weights() -> Weights:
    return Weights.of(json.loads((DATA / "weights.json").read_text()), "default")


def _name_level(a: str, b: str) -> str:
    if not a or not b:
        return "missing"
    if a == b:
        return "exact"
    na, nb = normalised(a), normalised(b)
    if na == nb:
        return "normalised"
    va, vb = variant(a), variant(b)
    if va == vb:
        return "variant"
    longest = max(len(va), len(vb))
    if Levenshtein.distance(va, vb) <= (1 if longest <= 6 else 2):
        return "similar"
    return "different"


def _birth_level(a: datetime.date | None, b: datetime.date | None) -> str:
    if a is None or b is None:
        return "missing"
    if a == b:
        return "exact"
    same = (a.year == b.year) + (a.month == b.month) + (a.day == b.day)
    swapped = a.year == b.year and a.month == b.day and a.day == b.month
    return "similar" if same == 2 or swapped else "different"


def _sex_level(a: str, b: str) -> str:
    if a in ("", "0", "9") or b in ("", "0", "9"):
        return "missing"
    return "exact" if a == b else "different"


def _address_level(a: str, b: str) -> str:
    if not a or not b:
        return "missing"
    if a == b:
        return "exact"
    na, nb = address_normalised(a), address_normalised(b)
    if na == nb:
        return "normalised"
    # The same block with another building or room, or one written shorter than the other.
    if na.startswith(nb) or nb.startswith(na):
        return "similar"
    return "different"


COMPARATORS = {
    "name": lambda a, b: _name_level(a.name, b.name),
    "name_kana": lambda a, b: _name_level(a.name_kana, b.name_kana),
    "birth_date": lambda a, b: _birth_level(a.birth_date, b.birth_date),
    "sex": lambda a, b: _sex_level(a.sex, b.sex),
    "address": lambda a, b: _address_level(a.address, b.address),
}


@dataclass(frozen=True)
class Comparison:
    agreement: dict[str, str]
    weights: dict[str, float] = field(default_factory=dict)
    score: int = 0  # the probability of a match, 0-100
    total: float = 0.0  # the sum of the weights (log2 of the Bayes factor)


def compare(
    query: Basic, stored: Basic, weights: Weights, fields: tuple[str, ...] = FIELDS
) -> Comparison:
    agreement = {name: COMPARATORS[name](query, stored) for name in fields}
    # A name in kanji one letter off is a typing error only when its reading agrees: 一郎 and
    # 市郎 read イチロウ alike, while 佐藤翔 and 佐藤蓮 are two persons.
    if agreement.get("name") == "similar" and agreement.get("name_kana") not in (
        "exact",
        "normalised",
    ):
        agreement["name"] = "different"
    field_weights = {
        name: round(weights.weight(name, level), 2) for name, level in agreement.items()
    }
    total = sum(field_weights.values()) + math.log2(weights.prior / (1 - weights.prior))
    probability = 1 / (1 + 2 ** -max(min(total, 60.0), -60.0))
    return Comparison(agreement, field_weights, math.floor(probability * 100), total)
