from __future__ import annotations

from django.apps import AppConfig


class IntermediateConfig(AppConfig):
    """中間サーバー 3 and the national side: simulated, reachable only over HTTP."""

    name = "intermediate"
    verbose_name = "中間サーバー"
