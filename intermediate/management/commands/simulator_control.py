"""`manage.py simulator_control NAME [--unavailable on|off] [--latency-ms N] [--error-rate R]
[--timeout-rate R]`: switch a simulated national peer's faults while everything runs."""

from __future__ import annotations

from intermediate.models import SimulatorControl
from intermediate.simulation import SIMULATORS
from primitives.faults import FaultControlCommand


class Command(FaultControlCommand):
    model = SimulatorControl
    names = SIMULATORS
