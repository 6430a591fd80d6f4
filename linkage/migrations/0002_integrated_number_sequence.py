"""The database sequence integrated numbers are issued from (see linkage.services.numbering)."""

from django.db import migrations

SEQUENCE = "linkage_integrated_number_seq"


def create_sequence(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"CREATE SEQUENCE IF NOT EXISTS {SEQUENCE} START 1 NO CYCLE")
    else:
        schema_editor.execute(
            f"CREATE TABLE IF NOT EXISTS {SEQUENCE} (value INTEGER PRIMARY KEY AUTOINCREMENT)"
        )


def drop_sequence(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP SEQUENCE IF EXISTS {SEQUENCE}")
    else:
        schema_editor.execute(f"DROP TABLE IF EXISTS {SEQUENCE}")


class Migration(migrations.Migration):
    dependencies = [("linkage", "0001_initial")]

    operations = [migrations.RunPython(create_sequence, drop_sequence, elidable=False)]
