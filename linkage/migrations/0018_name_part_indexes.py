"""Candidate search's name blocks (SPEC 10.3): the name and the kana of current versions, each
in search form, as exact keys (PostgreSQL: btree indexes on the two parts of name_key; SQLite
compares the key's prefix and suffix instead)."""

from django.db import migrations

INDEXES = [
    "CREATE INDEX IF NOT EXISTS version_name_part ON linkage_addressversion "
    "(split_part(name_key, chr(10), 1)) WHERE is_current",
    "CREATE INDEX IF NOT EXISTS version_kana_part ON linkage_addressversion "
    "(split_part(name_key, chr(10), 2)) WHERE is_current",
]


def indexes_create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in INDEXES:
            schema_editor.execute(statement)


def indexes_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS version_name_part")
        schema_editor.execute("DROP INDEX IF EXISTS version_kana_part")


class Migration(migrations.Migration):
    dependencies = [("linkage", "0017_persons_without_number")]

    operations = [migrations.RunPython(indexes_create, indexes_drop)]
