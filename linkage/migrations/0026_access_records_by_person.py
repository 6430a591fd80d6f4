"""The access audit by person (who read this person's data): a GIN index on each record's
list of integrated numbers, for its containment query (PostgreSQL; SQLite reads the list as
text). Built CONCURRENTLY: every audited read appends a record, and a plain index build
would hold them all back for as long as it reads the table (10 s at 5,000,000 records)."""

from django.db import migrations

from linkage.maintenance import index_build_concurrently

NAME = "access_numbers_gin"
DEFINITION = "ON linkage_accessrecord USING gin (integrated_numbers jsonb_path_ops)"


def index_create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        index_build_concurrently(schema_editor, NAME, DEFINITION)


def index_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS access_numbers_gin")


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("linkage", "0025_history_indexes_by_row_and_request")]

    operations = [migrations.RunPython(index_create, index_drop)]
