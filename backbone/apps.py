from __future__ import annotations

from django.apps import AppConfig


class BackboneConfig(AppConfig):
    """基幹系システム 10: the simulated business systems (住基, 税, 国保, 福祉)."""

    name = "backbone"
    verbose_name = "基幹系システム"
