"""The simulated business systems' tables."""

from __future__ import annotations

from django.db import models

from intermediate.models import EncryptedIndividualNumber, SweptWork


class SerialNumberNotice(EncryptedIndividualNumber, SweptWork):
    """住基 20 (first embodiment, S34/S60): a (processing serial number, individual number)
    pair received from linkage, to be passed on to the communication server."""

    processing_serial_number = models.CharField(max_length=32, unique=True)
    received_at = models.DateTimeField(auto_now_add=True)
    forwarded_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.processing_serial_number
