"""What every page's frame needs: whether the sandbox's simulated systems are here (for the
link between their screens and linkage's)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def sandbox(request: HttpRequest) -> dict[str, Any]:
    return {"simulators_enabled": settings.SIMULATORS_ENABLED}
