"""List filters shared by the staff API and (later) the clerk screens."""

from __future__ import annotations

import django_filters

from .models import CodeRequest, CodeRequestStage, CodeRequestStatus


class CodeRequestFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=CodeRequestStatus.choices)
    stage = django_filters.ChoiceFilter(choices=CodeRequestStage.choices)
    changed_from = django_filters.IsoDateTimeFilter(
        field_name="status_changed_at", lookup_expr="gte"
    )
    changed_to = django_filters.IsoDateTimeFilter(field_name="status_changed_at", lookup_expr="lt")

    class Meta:
        model = CodeRequest
        fields = ["status", "stage"]
