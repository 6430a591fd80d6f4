"""Search on PostgreSQL that stays fast on a million persons: trigram indexes on the doubled
search keys of current versions, which serve two-character queries (linkage.filters.Doubled),
and the statistics the planner needs to choose between walking the integrated-number order
and sorting the matches (measured by bench/search.py)."""

from django.conf import settings
from django.db import migrations

COLUMNS = ("name_key", "address_key")
STATISTICS_TARGET = 1000


def _doubled(column):
    return f"REGEXP_REPLACE({column}, '(.)', '\\1\\1', 'g')"


def doubled_indexes_create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS version_{column}_doubled_trgm ON linkage_addressversion "
            f"USING gin (({_doubled(column)}) gin_trgm_ops) WHERE is_current"
        )
        # Statistics on the expression: without them the planner guesses 100 matches for
        # every doubled query and sorts tens of thousands of rows for a common family name
        # instead of walking the integrated-number order (PostgreSQL 14+).
        schema_editor.execute(
            f"CREATE STATISTICS IF NOT EXISTS version_{column}_doubled_stats "
            f"ON ({_doubled(column)}) FROM linkage_addressversion"
        )
        # A finer histogram: with the default one, a six-kana full name was estimated at
        # 8,739 matches instead of 164, and the planner walked half a million persons in
        # integrated-number order instead of sorting the 164 (bench/search.py).
        schema_editor.execute(
            f"ALTER TABLE linkage_addressversion ALTER COLUMN {column} "
            f"SET STATISTICS {STATISTICS_TARGET}"
        )
        schema_editor.execute(
            f"ALTER STATISTICS version_{column}_doubled_stats SET STATISTICS {STATISTICS_TARGET}"
        )
    schema_editor.execute("ANALYZE linkage_addressversion")


def doubled_indexes_drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(f"DROP STATISTICS IF EXISTS version_{column}_doubled_stats")
        schema_editor.execute(
            f"ALTER TABLE linkage_addressversion ALTER COLUMN {column} SET STATISTICS -1"
        )
        schema_editor.execute(f"DROP INDEX IF EXISTS version_{column}_doubled_trgm")


class Migration(migrations.Migration):
    dependencies = [
        ("linkage", "0006_search_and_roles"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(doubled_indexes_create, doubled_indexes_drop),
    ]
