"""The daily prune of delivered notices (linkage.services.notices.notices_prune) finds the
oldest by a partial index of the delivered ones' times. Built CONCURRENTLY on PostgreSQL:
every change writes notices, and a plain build would hold them back while it reads the
table."""

from django.db import migrations

from linkage.maintenance import index_build_concurrently


def _concurrently(schema_editor):
    """CONCURRENTLY on PostgreSQL, which SQLite does not know."""
    return "CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""


NAME = "notice_delivered_idx"
DEFINITION = "ON linkage_notice (delivered_at) WHERE status = 'delivered'"


def index_create(apps, schema_editor):
    index_build_concurrently(schema_editor, NAME, DEFINITION)


def index_drop(apps, schema_editor):
    schema_editor.execute(
        f"DROP INDEX {_concurrently(schema_editor)} IF EXISTS notice_delivered_idx"
    )


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("linkage", "0026_access_records_by_person")]

    operations = [migrations.RunPython(index_create, index_drop)]
