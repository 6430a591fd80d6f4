"""Re-encryption under the newest FIELD_ENCRYPTION_KEYS key, without downtime.

Every sealed value names its key, and every configured key still decrypts, so the
application keeps working while this runs; each row is rewritten only if it still holds
the token read (a concurrent change wins and is counted). When no value is left under an
old key, that key can be removed from the settings. The blind index key is separate and
never rotates here: it is the lookup key of every stored individual number.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.apps import apps
from django.db.models import Model

from ..crypto import keyring, reseal, token_key_id

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
