"""The table of permitted exchanges the simulated network starts with, from
intermediate/data/permitted_exchanges.json (番号法 別表 as data; kept in the table after)."""

import json
from pathlib import Path

from django.db import migrations

ROWS = Path(__file__).resolve().parent.parent / "data" / "permitted_exchanges.json"


def load(apps, schema_editor):  # type: ignore[no-untyped-def]
    permitted = apps.get_model("intermediate", "PermittedExchange")
    for row in json.loads(ROWS.read_text(encoding="utf-8")):
        permitted.objects.update_or_create(
            procedure=row["procedure"], data_set=row["data_set"], defaults=row
        )


class Migration(migrations.Migration):
    dependencies = [("intermediate", "0007_inquiries")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
