from __future__ import annotations

from django.apps import AppConfig


class LinkageConfig(AppConfig):
    """情報連携サーバー 30: the product."""

    name = "linkage"
    verbose_name = "情報連携"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate, pre_migrate

        from . import checks, lookups, signals  # noqa: F401  (registers checks, lookups, receivers)
        from .api import schema  # noqa: F401  (registers the OpenAPI token scheme)
        from .maintenance import migrations_unbounded
        from .roles import roles_sync

        pre_migrate.connect(
            migrations_unbounded, sender=self, dispatch_uid="linkage.migrations_unbounded"
        )
        post_migrate.connect(roles_sync, sender=self, dispatch_uid="linkage.roles_sync")

        checks.lg_code_validate()
