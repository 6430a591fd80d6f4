"""The simulated business systems' tables."""

from __future__ import annotations

from intermediate.models import ForwardedPair


class SerialNumberNotice(ForwardedPair):
    """住基 20 (first embodiment, S34/S60): a (processing serial number, individual number)
    pair received from linkage, to be passed on to the communication server."""
