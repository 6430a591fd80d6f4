"""Individual numbers held sealed by the simulated peers (blind index + AES-GCM token, as in
linkage, under the index key of the system that holds them), and the pending-work rows their
sweeps finish after a crash."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any, TypeVar

from django.db import IntegrityError, models, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from .crypto import blind_index, decrypt_individual_number, encrypt_individual_number


def sealed(individual_number: str, *, index_key: bytes) -> dict[str, str]:
    """The two columns of EncryptedIndividualNumber for `individual_number`."""
    index = blind_index(individual_number, key=index_key)
    return {
        "individual_number_index": index,
        "individual_number_encrypted": encrypt_individual_number(individual_number, index=index),
    }


class SweptWork(models.Model):
    """Deferred work a simulator must finish after a crash; `swept_at` records when its sweep
    last enqueued the row again, so a backlog is not enqueued again on every sweep."""

    swept_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True


def stalled_claim(
    queryset: QuerySet[Any], cutoff: datetime.datetime, limit: int = 2000
) -> list[int]:
    """Rows of a SweptWork queryset not swept since `cutoff`, marked swept now; only these
    are enqueued again."""
    stalled = queryset.filter(Q(swept_at__isnull=True) | Q(swept_at__lt=cutoff))
    ids = list(stalled.order_by("pk").values_list("pk", flat=True)[:limit])
    stalled.filter(pk__in=ids).update(swept_at=timezone.now())
    return ids


class EncryptedIndividualNumber(models.Model):
    individual_number_index = models.CharField(max_length=64, db_index=True, editable=False)
    individual_number_encrypted = models.CharField(max_length=128, editable=False)

    class Meta:
        abstract = True

    @property
    def individual_number(self) -> str:
        return decrypt_individual_number(
            self.individual_number_encrypted, index=self.individual_number_index
        )


class ForwardedPair(EncryptedIndividualNumber, SweptWork):
    """A (processing serial number, individual number) pair a peer stores once and passes on
    (住基 and 住基GW to the CS, the CS to the national server)."""

    processing_serial_number = models.CharField(max_length=32, unique=True)
    received_at = models.DateTimeField(auto_now_add=True)
    forwarded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.processing_serial_number


PairT = TypeVar("PairT", bound=EncryptedIndividualNumber)


def pair_record(
    model: type[PairT], *, processing_serial_number: str, individual_number: str, index_key: bytes
) -> tuple[PairT, bool]:
    """Store a (processing serial number, individual number) pair once (住基, 住基GW, CS and
    the national server all receive one); a repeat returns the stored row."""
    ((row, created),) = pairs_record(
        model, [(processing_serial_number, individual_number)], index_key=index_key
    )
    return row, created


def pairs_record(
    model: type[PairT], pairs: Sequence[tuple[str, str]], *, index_key: bytes
) -> list[tuple[PairT, bool]]:
    """Store a batch of (processing serial number, individual number) pairs once each: per
    pair the row and whether it is new. Set-wise: one read, one insert; a concurrent batch
    with the same serial numbers wins the unique constraint and this one reads its rows."""
    manager = model._default_manager
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                stored = {
                    row.processing_serial_number: row  # type: ignore[attr-defined]
                    for row in manager.filter(
                        processing_serial_number__in=[serial for serial, _ in pairs]
                    )
                }
                known = set(stored)
                new = []
                for serial, individual_number in pairs:
                    if serial not in stored:
                        stored[serial] = row = model(
                            processing_serial_number=serial,
                            **sealed(individual_number, index_key=index_key),
                        )
                        new.append(row)
                manager.bulk_create(new)
                outcomes = []
                for serial, _ in pairs:
                    outcomes.append((stored[serial], serial not in known))
                    known.add(serial)  # a pair repeated in the batch is new once
                return outcomes
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")
