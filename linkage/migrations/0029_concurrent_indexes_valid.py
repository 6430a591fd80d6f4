"""The indexes 0026 and 0027 build CONCURRENTLY, built again where a build that failed left
one invalid. Such a build fails easily in the reference deployment: it waits for every open
transaction to end, within `lock_timeout` (30 s), and a nightly batch's transaction lasts
longer. PostgreSQL then keeps the index, invalid (never read, yet kept up on every write),
and before linkage.maintenance.index_build_concurrently the migration's next run kept it
so. On a database whose indexes are valid this reads two catalog rows."""

import importlib

from django.db import migrations

from linkage.maintenance import index_build_concurrently

BUILT = [
    importlib.import_module("linkage.migrations.0026_access_records_by_person"),
    importlib.import_module("linkage.migrations.0027_notices_delivered_index"),
]


def indexes_valid(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for built in BUILT:
            index_build_concurrently(schema_editor, built.NAME, built.DEFINITION)


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("linkage", "0028_search_keys_without_variation_selectors")]

    operations = [migrations.RunPython(indexes_valid, migrations.RunPython.noop)]
