"""Re-encryption under the newest FIELD_ENCRYPTION_KEYS key, without downtime.

Every sealed value names its key, and every configured key still decrypts, so the
application keeps working while this runs; each row is rewritten only if it still holds
the token read (a concurrent change wins and is counted). When no value is left under an
old key, that key can be removed from the settings. The blind index key rotates on its own
(`blind_index_key_rotate`), as every person's index must be made again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import connection, transaction
from django.db.models import Model

from primitives.crypto import (
    blind_index,
    decrypt_individual_number,
    encrypt_individual_number,
    keyring,
    reseal,
    token_key_id,
)

INDIVIDUAL_NUMBER_FIELD = "individual_number_encrypted"
BATCH = 1000


@dataclass(frozen=True)
class SealedField:
    model: type[Model]
    field: str
    associated_data: Callable[[Model], str]

    @property
    def label(self) -> str:
        return f"{self.model._meta.label}.{self.field}"


class UnknownSealedField(Exception):
    pass


def sealed_fields() -> list[SealedField]:
    """Every sealed column of every installed model: individual numbers (bound to their
    blind index) and the secrets models declare in SEALED_SECRETS. A `*_encrypted` column
    that declares nothing is refused, so no sealed column is forgotten."""
    found: list[SealedField] = []
    for model in apps.get_models():
        secrets = getattr(model, "SEALED_SECRETS", {})
        for field in model._meta.concrete_fields:
            if not field.name.endswith("_encrypted"):
                continue
            if field.name == INDIVIDUAL_NUMBER_FIELD:
                found.append(
                    SealedField(model, field.name, lambda row: row.individual_number_index)  # type: ignore[attr-defined]
                )
            elif field.name in secrets:
                found.append(SealedField(model, field.name, _secret_binding(secrets[field.name])))
            else:
                raise UnknownSealedField(
                    f"{model._meta.label}.{field.name} is sealed but not in SEALED_SECRETS"
                )
    return found


def _secret_binding(purpose: str) -> Callable[[Model], str]:
    def associated_data(row: Model) -> str:
        return f"secret:{purpose}"

    return associated_data


def tokens_by_key() -> dict[str, Counter[str]]:
    """For each sealed column, how many values each key id holds."""
    return {
        sealed.label: Counter(
            token_key_id(token)
            for token in sealed.model._default_manager.exclude(**{sealed.field: ""}).values_list(
                sealed.field, flat=True
            )
        )
        for sealed in sealed_fields()
    }


@dataclass
class RotationResult:
    resealed: int = 0
    changed_meanwhile: int = 0


def encryption_key_rotate(*, batch: int = BATCH) -> dict[str, RotationResult]:
    current = keyring().current_key_id
    results: dict[str, RotationResult] = {}
    for sealed in sealed_fields():
        result = results.setdefault(sealed.label, RotationResult())
        for row in _rows_under_old_keys(sealed, current, batch):
            old = getattr(row, sealed.field)
            new = reseal(old, associated_data=sealed.associated_data(row))
            updated = sealed.model._default_manager.filter(pk=row.pk, **{sealed.field: old}).update(
                **{sealed.field: new}
            )
            if updated:
                result.resealed += 1
            else:
                result.changed_meanwhile += 1
    return results


def _rows_under_old_keys(sealed: SealedField, current: str, batch: int) -> Iterator[Model]:
    """Rows whose value is under another key than `current`, in primary-key batches."""
    manager = sealed.model._default_manager
    last_pk = None
    while True:
        rows = manager.exclude(**{sealed.field: ""}).exclude(
            **{f"{sealed.field}__contains": f":{current}:"}
        )
        if last_pk is not None:
            rows = rows.filter(pk__gt=last_pk)
        chunk = list(rows.order_by("pk")[:batch])
        if not chunk:
            return
        yield from chunk
        last_pk = chunk[-1].pk


# --- The blind index key ------------------------------------------------------------------


class BlindIndexMismatch(Exception):
    """A person's stored index is not the index of its own number under the key it names."""


@dataclass(frozen=True)
class BlindIndexReport:
    reindexed: int
    remaining: int


def persons_under_old_blind_index() -> Any:
    """Persons still holding a number indexed under an older key than the newest."""
    from ..models import Person

    return Person.objects.filter(
        purged_at__isnull=True, individual_number_index__isnull=False
    ).exclude(individual_number_index_key=keyring().blind_index_key_id)


def blind_index_key_rotate(*, batch: int = BATCH) -> BlindIndexReport:
    """Re-index every person's individual number under the newest BLIND_INDEX_KEYS key, a
    batch per transaction, so it runs beside the live system and resumes where it stopped.

    Each row is decrypted (its token is bound to its old index), checked against the old
    key it names, indexed under the new key and sealed again bound to the new index. Rows
    are locked with SKIP LOCKED: a person being written by an address change is taken by a
    later batch. Lookups try every configured key meanwhile (primitives.crypto.blind_indexes).
    """
    from ..models import Person

    ring = keyring()
    old_keys = dict(ring.blind_index_keys[1:])
    reindexed = 0
    while True:
        with transaction.atomic():
            rows = list(
                persons_under_old_blind_index()
                .select_for_update(skip_locked=connection.vendor == "postgresql")
                .order_by("pk")[:batch]
            )
            if not rows:
                break
            for person in rows:
                number = decrypt_individual_number(
                    person.individual_number_encrypted, index=person.individual_number_index
                )
                old_key = old_keys.get(person.individual_number_index_key)
                if (
                    old_key is None
                    or blind_index(number, key=old_key) != person.individual_number_index
                ):
                    raise BlindIndexMismatch(
                        f"person {person.integrated_number}: its index is not under a "
                        "configured older key (keep every old key in BLIND_INDEX_KEYS until done)"
                    )
                person.individual_number_index = blind_index(number)
                person.individual_number_encrypted = encrypt_individual_number(
                    number, index=person.individual_number_index
                )
                person.individual_number_index_key = ring.blind_index_key_id
            Person.objects.bulk_update(
                rows,
                [
                    "individual_number_index",
                    "individual_number_encrypted",
                    "individual_number_index_key",
                ],
            )
            reindexed += len(rows)
    return BlindIndexReport(reindexed=reindexed, remaining=persons_under_old_blind_index().count())


def blind_index_verify() -> int:
    """How many persons' indexes are not the newest key's index of their own number
    (0: the rotation is complete and verified; the older keys can be removed)."""
    from ..models import Person

    wrong = 0
    holders = Person.objects.filter(purged_at__isnull=True, individual_number_index__isnull=False)
    for person in holders.iterator(chunk_size=BATCH):
        index = person.individual_number_index or ""
        number = decrypt_individual_number(person.individual_number_encrypted, index=index)
        if blind_index(number) != index:
            wrong += 1
    return wrong
