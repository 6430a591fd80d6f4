"""`manage.py business_system_control jyuki|tax|nhi|welfare [--unavailable on|off]
[--latency-ms N] [--error-rate R] [--timeout-rate R]`: switch a simulated business system's
notice receiver's faults while everything runs."""

from __future__ import annotations

from backbone.models import RECEIVERS, ReceiverControl
from primitives.faults import FaultControlCommand


class Command(FaultControlCommand):
    model = ReceiverControl
    names = tuple(RECEIVERS.values())
