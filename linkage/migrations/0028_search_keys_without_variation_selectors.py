"""Search keys no longer hold variation selectors (primitives.text.search_key): a name sent
with an IVS (葛 + U+E0100) is found by the name typed without it. The keys of the versions
whose text holds one are computed again; no other key changes."""

from django.db import migrations
from django.db.models import Q

from primitives.text import name_search_key, search_key

# Unicode's Variation_Selector characters, as primitives.text drops them.
VARIATION_SELECTOR = "[\u180b-\u180d\u180f\ufe00-\ufe0f\U000e0100-\U000e01ef]"


def keys_recompute(apps, schema_editor):
    AddressVersion = apps.get_model("linkage", "AddressVersion")
    holding = AddressVersion.objects.filter(
        Q(name__regex=VARIATION_SELECTOR)
        | Q(name_kana__regex=VARIATION_SELECTOR)
        | Q(address__regex=VARIATION_SELECTOR)
    )
    batch = []
    for version in holding.only("name", "name_kana", "address").iterator(2000):
        version.name_key = name_search_key(version.name, version.name_kana)
        version.address_key = search_key(version.address)
        batch.append(version)
        if len(batch) == 2000:
            AddressVersion.objects.bulk_update(batch, ["name_key", "address_key"])
            batch = []
    AddressVersion.objects.bulk_update(batch, ["name_key", "address_key"])


class Migration(migrations.Migration):
    dependencies = [("linkage", "0027_notices_delivered_index")]

    operations = [migrations.RunPython(keys_recompute, migrations.RunPython.noop)]
