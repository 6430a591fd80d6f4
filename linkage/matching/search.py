"""Candidate search (名寄せ候補照会, SPEC 10.2-10.3): the stored persons who may be the person
described, best first, each with its score explained field by field.

Blocking keeps a search bounded (at most MATCHING["blocking"] persons compared): the persons
born on the date given, and, whatever the date, those whose name or kana is the same once
normalised (each read through its index). Merged persons are never candidates: their
representative is.
"""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import F, Func, Q, QuerySet, TextField
from django.db.models.lookups import Exact

from ..models import AddressVersion, Person
from .forms import address_normalised, normalised
from .scoring import FIELDS, Comparison, Weights, compare, default_weights


@dataclass(frozen=True)
class Query:
    """What is known of the person sought; any item may be missing ("" or None)."""

    name: str = ""
    name_kana: str = ""
    birth_date: datetime.date | None = None
    sex: str = ""
    address: str = ""


@dataclass(frozen=True)
class Candidate:
    version: AddressVersion  # the candidate's current version (person loaded)
    comparison: Comparison

    @property
    def person_id(self) -> int:
        return self.version.person_id

    @property
    def score(self) -> int:
        return self.comparison.score

    @property
    def agreement(self) -> dict[str, str]:
        return self.comparison.agreement


WEIGHTS_TTL = 60.0  # seconds a process keeps the weights before it looks for a newer estimate
_weights_read: tuple[float, Weights] | None = None


def current_weights() -> Weights:
    """The newest estimate stored by `manage.py matching_weights`, else the defaults; read
    at most once a minute per process (a new estimate is in use within a minute)."""
    global _weights_read
    if _weights_read is not None and time.monotonic() - _weights_read[0] < WEIGHTS_TTL:
        return _weights_read[1]
    from ..models import MatchingWeights

    estimate = MatchingWeights.objects.order_by("-estimated_at", "-pk").first()
    weights = (
        default_weights()
        if estimate is None
        else Weights.of(estimate.weights, f"estimated {estimate.estimated_at:%Y-%m-%d}")
    )
    _weights_read = (time.monotonic(), weights)
    return weights


def current_weights_forget() -> None:
    """The next search reads the weights again (after a new estimate in this process)."""
    global _weights_read
    _weights_read = None


class NamePart(Func):
    """Part 1 (the name) or 2 (the kana) of a version's name_key, as its index holds it
    (migration 0018: PostgreSQL only)."""

    function = "split_part"
    template = "split_part(%(expressions)s, chr(10), %(part)s)"
    output_field = TextField()


def _name_block(part: int, key: str) -> Q:
    if connection.vendor == "postgresql":
        return Q(Exact(NamePart(F("name_key"), part=part), key))
    if part == 1:
        return Q(name_key__startswith=f"{key}\n")
    return Q(name_key__endswith=f"\n{key}")


def _blocks(query: Query) -> list[Q]:
    name_key = normalised(query.name) if query.name else ""
    kana_key = normalised(query.name_kana) if query.name_kana else ""
    names = Q(pk__in=[])
    if name_key:
        names |= _name_block(1, name_key)
    if kana_key:
        names |= _name_block(2, kana_key)
    # A birth date one typing error away needs no block of its own: its person is found by
    # the name or the kana (and a name and kana both unlike are no candidate anyway).
    blocks = [Q(birth_date=query.birth_date)] if query.birth_date is not None else []
    blocks.append(names)
    return blocks


def _compared(query: Query, exclude: set[int]) -> QuerySet[AddressVersion]:
    # The persons are read after scoring, for the few candidates above the threshold only
    # (merged ones are dropped then): a join here read hundreds of persons per search, and a
    # condition on the person made PostgreSQL walk every person instead of the block's index.
    return (
        AddressVersion.objects.current()
        .exclude(person_id__in=exclude)
        .only(*COMPARED_COLUMNS)
        .order_by()
    )


# What scoring reads of a version: the rest stays on disk.
COMPARED_COLUMNS = ("person_id", "name", "name_kana", "birth_date", "sex", "address")
PERSON_COLUMNS = ("integrated_number", "individual_number_index", "purged_at", "merged_into_id")


def candidates_find(
    query: Any,
    *,
    limit: int = 20,
    threshold: int | None = None,
    match: dict[str, str] | None = None,
    exclude: set[int] | None = None,
    weights: Weights | None = None,
) -> list[Candidate]:
    """The persons scoring at or above `threshold` (default MATCHING["review"]), best first,
    at most `limit`. `match` narrows a field to `exact` (agreeing once normalised) or
    `partial` (the stored value contains the one given)."""
    query = Query(**{name: getattr(query, name, None) or _empty(name) for name in FIELDS})
    minimum: int = settings.MATCHING["review"] if threshold is None else threshold
    weights = weights or current_weights()
    budget: int = settings.MATCHING["blocking"]
    seen: dict[int, AddressVersion] = {}
    for block in _blocks(query):
        if len(seen) >= budget:
            break
        for version in _compared(query, (exclude or set()) | set(seen)).filter(block)[
            : budget - len(seen)
        ]:
            seen[version.person_id] = version
    found = []
    for version in seen.values():
        if match and not _narrowed(query, version, match):
            continue
        comparison = compare(query, version, weights)
        if comparison.score >= minimum:
            found.append(Candidate(version, comparison))
    persons = {
        person.pk: person
        for person in Person.objects.filter(
            pk__in=[candidate.person_id for candidate in found], merged_into__isnull=True
        ).only(*PERSON_COLUMNS)
    }
    found = [candidate for candidate in found if candidate.person_id in persons]
    for candidate in found:
        candidate.version.person = persons[candidate.person_id]
    found.sort(key=lambda candidate: (-candidate.comparison.total, candidate.version.person_id))
    return found[:limit]


def _empty(name: str) -> Any:
    return None if name == "birth_date" else ""


def _narrowed(query: Query, version: AddressVersion, match: dict[str, str]) -> bool:
    for name, mode in match.items():
        given = getattr(query, name)
        if given in (None, ""):
            continue
        stored = getattr(version, name)
        if name == "birth_date" or name == "sex":
            if stored != given:
                return False
            continue
        form = address_normalised if name == "address" else normalised
        if mode == "exact" and form(stored) != form(given):
            return False
        if mode == "partial" and form(given) not in form(stored):
            return False
    return True


def candidates_described(candidates: list[Candidate]) -> list[dict[str, Any]]:
    """The candidates as the API answers them and the screens show them (SPEC 10.2): with
    each person's number systems (its own links and those of persons merged into it)."""
    from ..models import CrossReference

    ids = [candidate.person_id for candidate in candidates]
    systems: dict[int, set[str]] = {person_id: set() for person_id in ids}
    for person_id, merged_into, number_system in CrossReference.objects.filter(
        Q(person_id__in=ids) | Q(person__merged_into_id__in=ids)
    ).values_list("person_id", "person__merged_into_id", "number_system"):
        systems[merged_into or person_id].add(number_system)
    return [
        {
            "integrated_number": candidate.version.person.integrated_number,
            "score": candidate.score,
            "agreement": candidate.agreement,
            "weights": candidate.comparison.weights,
            "person": {
                "name": candidate.version.name,
                "name_kana": candidate.version.name_kana,
                "birth_date": candidate.version.birth_date,
                "sex": candidate.version.sex,
                "address": candidate.version.address,
            },
            "has_individual_number": candidate.version.person.has_individual_number,
            "number_systems": sorted(systems[candidate.person_id]),
        }
        for candidate in candidates
    ]
