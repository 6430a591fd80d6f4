"""HTTP endpoints of the simulated business systems."""

from __future__ import annotations

from intermediate.tasks import pair_forward
from intermediate.views import pair_receiver

from .models import SerialNumberNotice

# 住基 (first embodiment): receives (processing serial number, individual number) from
# linkage (S34) and passes it to the communication server (S60).
jyuki_serial_numbers = pair_receiver(
    "jyuki",
    SerialNumberNotice,
    lambda pk: pair_forward.delay("backbone.SerialNumberNotice", pk, "cs", "forwards"),
)
