"""Labels clerks read: business items and data types (linkage.labels), a code request's
causes and errors (linkage.explanations)."""

from __future__ import annotations

from django import template
from django.conf import settings
from django.utils.translation import get_language

from ..explanations import cause_label as _cause_label
from ..explanations import criteria_labelled, error_explained
from ..labels import label_of

register = template.Library()


@register.filter
def item_label(key: str) -> str:
    return label_of("item", key)


@register.filter
def data_type_label(key: str) -> str:
    return label_of("data_type", key)


def _configured_label(entries: dict[str, dict[str, str]], key: str) -> str:
    """A configured data set's or procedure's label in the active language; the key when the
    list no longer has it."""
    entry = entries.get(key)
    if entry is None:
        return key
    english = (get_language() or "ja").startswith("en")
    return entry.get("label_en", entry["label"]) if english else entry["label"]


@register.filter
def data_set_label(key: str) -> str:
    return _configured_label(settings.EXCHANGE_DATA_SETS, key)


@register.filter
def procedure_label(key: str) -> str:
    return _configured_label(settings.EXCHANGE_PROCEDURES, key)


@register.filter
def cause_label(cause: str) -> str:
    return _cause_label(cause)


@register.filter
def error_reason(error: str) -> str:
    return error_explained(error).reason


@register.filter
def error_action(error: str) -> str:
    return error_explained(error).action


@register.filter
def criteria_shown(criteria: dict[str, str]) -> list[tuple[str, str]]:
    return criteria_labelled(criteria)
