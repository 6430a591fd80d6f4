"""The labels clerks read for business data types and items (業務項目の表示名).

The shipped dictionary (linkage/data/business_labels.json) names the items of the four
standard business systems; the municipality adds or overrides labels in the admin
(BusinessLabel). A key with no label anywhere is shown as the business system sent it.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from django.utils.translation import get_language

from .models import BusinessLabel
from .readings import forget, kept

SHIPPED = Path(__file__).resolve().parent / "data" / "business_labels.json"
CACHE_KEY = "linkage:business-labels"
CACHE_SECONDS = 300

Labels = dict[str, dict[str, dict[str, str]]]  # kind -> key -> language -> label


@cache
def _shipped() -> Labels:
    data = json.loads(SHIPPED.read_text(encoding="utf-8"))
    return {"data_type": data["data_types"], "item": data["items"]}


def business_labels() -> Labels:
    """The shipped labels with the admin's on top, read from the database at most once per
    CACHE_SECONDS (a label saved in the admin clears the cache)."""
    return kept(CACHE_KEY, CACHE_SECONDS, _labels_read, dict)


def _labels_read() -> Labels:
    labels = {kind: dict(keys) for kind, keys in _shipped().items()}
    for row in BusinessLabel.objects.all():
        labels.setdefault(row.kind, {})[row.key] = {
            "ja": row.label,
            **({"en": row.label_en} if row.label_en else {}),
        }
    return labels


def label_of(kind: str, key: str) -> str:
    """The label of `key` in the active language (Japanese where no English is given)."""
    names = business_labels().get(kind, {}).get(key)
    if not names:
        return key
    language = (get_language() or "ja").split("-")[0]
    return names.get(language) or names.get("ja") or key


def business_labels_forget() -> None:
    """Read the labels afresh next time (a label was saved or deleted)."""
    forget(CACHE_KEY)
