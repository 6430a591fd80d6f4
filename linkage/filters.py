"""Search and list filters, shared by the clerk screens and the staff API."""

from __future__ import annotations

import datetime
from typing import Any

import django_filters
from django import forms
from django.conf import settings
from django.core.validators import RegexValidator
from django.db import connections
from django.db.models import CharField, Exists, Func, OuterRef, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils.translation import gettext_lazy as _

from primitives.forms import DateField, checked, value_free_messages
from primitives.numbers import is_valid_integrated_number
from primitives.text import JAPAN, InvalidText, date_in_range, moment_check, search_key
from primitives.vocabulary import Sex

from .models import (
    AccessAction,
    AccessOutcome,
    AccessRecord,
    AddressVersion,
    CodeRequest,
    CodeRequestStage,
    CodeRequestStatus,
    CrossReference,
)
from .selectors import day_start


def _real_offset(value: datetime.datetime | None) -> None:
    """An ISO 8601 time a database can compare (primitives.text.moment_check: an offset a real
    time zone has, a year that no conversion takes out of range)."""
    if value is None:
        return
    try:
        moment_check(value if value.utcoffset() is not None else value.replace(tzinfo=JAPAN))
    except InvalidText:
        raise forms.ValidationError(
            _("1868年1月1日以降の日時を、UTCからの時差±14時間以内で指定してください。"),
            code="out_of_range",
        ) from None


class DateFilter(django_filters.DateFilter):
    """A date as clerks type it (西暦 or 和暦, primitives.forms.DateField)."""

    field_class = DateField


def number_system_choices() -> list[tuple[str, str]]:
    """The configured number systems as a clerk picks them: 01 住基, 02 税, ..."""
    return [(code, f"{code} {name}") for code, name in settings.NUMBER_SYSTEMS.items()]


def _day_in_range(value: datetime.date | None) -> None:
    """A day a query can compare (primitives.text.date_in_range, worded as the forms word it)."""
    if value is not None:
        checked(date_in_range, value)


class ValueFreeFilterSet(django_filters.FilterSet):
    """A filter set whose errors never repeat a submitted value (linkage.forms)."""

    @property
    def form(self) -> forms.Form:
        if not hasattr(self, "_form"):
            self._form = value_free_messages(super().form)
        return self._form


class CodeRequestFilter(ValueFreeFilterSet):
    status = django_filters.ChoiceFilter(choices=CodeRequestStatus.choices)
    stage = django_filters.ChoiceFilter(choices=CodeRequestStage.choices)
    changed_from = django_filters.IsoDateTimeFilter(
        field_name="status_changed_at", lookup_expr="gte", validators=[_real_offset]
    )
    changed_to = django_filters.IsoDateTimeFilter(
        field_name="status_changed_at", lookup_expr="lt", validators=[_real_offset]
    )

    class Meta:
        model = CodeRequest
        fields = ["status", "stage"]


class Doubled(Func):
    """The text with every character written twice: 山田 -> 山山田田.

    A trigram index cannot serve a two-character query (most kanji family names are two
    characters: 山田, 佐藤), but the doubled query 山山田田 has trigrams, and the doubled text
    contains it exactly when the text contains 山田 (any match at an odd offset would need
    all the characters equal, which the text then holds anyway). Migration 0007 indexes
    the doubled keys of current versions on PostgreSQL.
    """

    function = "REGEXP_REPLACE"
    template = r"%(function)s(%(expressions)s, '(.)', '\1\1', 'g')"
    output_field = CharField()


def partial_match(
    queryset: QuerySet[AddressVersion], field: str, key: str
) -> QuerySet[AddressVersion]:
    """Rows whose search key `field` contains `key` (a search key itself)."""
    if not key:
        return queryset
    if len(key) == 2 and connections[queryset.db].vendor == "postgresql":
        doubled = "".join(character * 2 for character in key)
        return queryset.alias(**{f"{field}_doubled": Doubled(field)}).filter(
            **{f"{field}_doubled__contains": doubled}
        )
    return queryset.filter(**{f"{field}__contains": key})


class SearchForm(forms.Form):
    """The search criteria: at least one is needed (an empty search would list everyone)."""

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        # Text that is nothing once in search form (variation selectors alone) would match
        # every row: refused by name, as a blank criterion is.
        for name in ("name", "address"):
            if data.get(name) and not search_key(data[name]):
                self.add_error(
                    name,
                    forms.ValidationError(
                        _("検索に使える文字がありません。"), code="nothing_to_search"
                    ),
                )
        criteria = {name: value for name, value in data.items() if name != "ordering"}
        if not self.errors and not any(value not in (None, "") for value in criteria.values()):
            raise forms.ValidationError(
                _("検索条件を1つ以上入力してください。"), code="no_criteria"
            )
        # A half-filled pair: the error sits on the missing field and names it alone.
        if data.get("address_number") and not data.get("number_system"):
            self.add_error(
                "number_system",
                forms.ValidationError(
                    _("宛名番号で検索するときは番号体系を選んでください。"),
                    code="address_number_pair",
                ),
            )
        elif data.get("number_system") and not data.get("address_number"):
            self.add_error(
                "address_number",
                forms.ValidationError(
                    _("番号体系を選んだときは宛名番号を入力してください。"),
                    code="address_number_pair",
                ),
            )
        return data


def _integrated_number(value: str) -> None:
    if not is_valid_integrated_number(value):
        raise forms.ValidationError(
            _("統合宛名番号は15桁の数字(検査数字付き)で入力してください。"), code="invalid"
        )


class PersonSearchFilter(ValueFreeFilterSet):
    """Online function 40's search over current versions (linkage.selectors.persons_current).

    Name, kana and address match partially on their search keys (primitives.text.search_key), so
    width, hiragana/katakana, small kana and spaces do not matter. The individual number is
    not a filter here: it must not travel in a URL, and is looked up by POST instead.
    """

    integrated_number = django_filters.CharFilter(
        field_name="person__integrated_number",
        label=_("統合宛名番号"),
        validators=[_integrated_number],
    )
    number_system = django_filters.ChoiceFilter(
        method="filter_address_number",
        label=_("番号体系"),
        choices=number_system_choices,
        empty_label=_("指定なし"),
    )
    address_number = django_filters.CharFilter(
        method="filter_address_number",
        label=_("宛名番号"),
        validators=[
            RegexValidator(r"^[0-9]{1,15}$", _("宛名番号は15桁以内の数字で入力してください。"))
        ],
    )
    name = django_filters.CharFilter(method="filter_name", label=_("氏名・カナ"))
    birth_date = DateFilter(label=_("生年月日"), validators=[_day_in_range])
    birth_date_from = DateFilter(
        field_name="birth_date",
        lookup_expr="gte",
        label=_("生年月日(から)"),
        validators=[_day_in_range],
    )
    birth_date_to = DateFilter(
        field_name="birth_date",
        lookup_expr="lte",
        label=_("生年月日(まで)"),
        validators=[_day_in_range],
    )
    sex = django_filters.ChoiceFilter(
        choices=Sex.choices, label=_("性別"), empty_label=_("指定なし")
    )
    address = django_filters.CharFilter(method="filter_address", label=_("住所"))
    ordering = django_filters.OrderingFilter(
        fields=[
            ("person__integrated_number", "integrated_number"),
            ("name_kana", "name_kana"),
            ("birth_date", "birth_date"),
            ("registered_at", "registered_at"),
        ],
        field_labels={
            "person__integrated_number": _("統合宛名番号"),
            "name_kana": _("氏名カナ"),
            "birth_date": _("生年月日"),
            "registered_at": _("最終更新"),
        },
        label=_("並び順"),
    )

    class Meta:
        model = AddressVersion
        fields: list[str] = []
        form = SearchForm

    def filter_name(
        self, queryset: QuerySet[AddressVersion], name: str, value: str
    ) -> QuerySet[AddressVersion]:
        return partial_match(queryset, "name_key", search_key(value))

    def filter_address(
        self, queryset: QuerySet[AddressVersion], name: str, value: str
    ) -> QuerySet[AddressVersion]:
        return partial_match(queryset, "address_key", search_key(value))

    def filter_address_number(
        self, queryset: QuerySet[AddressVersion], name: str, value: str
    ) -> QuerySet[AddressVersion]:
        if name != "address_number":
            return queryset  # applied once, with both values, by the address number filter
        linked = CrossReference.objects.filter(
            person_id=OuterRef("person_id"),
            number_system=self.form.cleaned_data["number_system"],
            address_number=value,
        )
        return queryset.filter(Exists(linked))

    @property
    def qs(self) -> QuerySet[AddressVersion]:
        queryset = super().qs
        chosen = [
            field for field in getattr(self.form, "cleaned_data", {}).get("ordering") or () if field
        ]
        # Integrated-number order by default: walking the person index finds the first page
        # of a frequent name after a few thousand rows, where any sort of the matches would
        # read them all (tens of thousands for a common family name). A chosen order ends
        # with the integrated number too: persons of one kana or one birth date then keep
        # their places from page to page. (`ordering=,` chooses nothing: the default.)
        if not any(field.lstrip("-") == "integrated_number" for field in chosen):
            queryset = queryset.order_by(*queryset.query.order_by, "person__integrated_number")
        return queryset


class AccessRecordFilter(ValueFreeFilterSet):
    """The access audit as supervisors filter it."""

    action = django_filters.ChoiceFilter(choices=AccessAction.choices, label=_("操作"))
    outcome = django_filters.ChoiceFilter(choices=AccessOutcome.choices, label=_("結果"))
    username = django_filters.CharFilter(lookup_expr="icontains", label=_("ユーザー名"))
    date_from = DateFilter(method="filter_date_from", label=_("開始日"), validators=[_day_in_range])
    date_to = DateFilter(method="filter_date_to", label=_("終了日"), validators=[_day_in_range])
    integrated_number = django_filters.CharFilter(
        method="filter_integrated_number",
        label=_("統合宛名番号"),
        validators=[_integrated_number],
    )

    class Meta:
        model = AccessRecord
        fields: list[str] = []

    # The days as ranges of the occurred_at index: a `__date` lookup converted every record's
    # time to a local date and read the whole table.
    def filter_date_from(
        self, queryset: QuerySet[AccessRecord], name: str, value: datetime.date
    ) -> QuerySet[AccessRecord]:
        return queryset.filter(occurred_at__gte=day_start(value))

    def filter_date_to(
        self, queryset: QuerySet[AccessRecord], name: str, value: datetime.date
    ) -> QuerySet[AccessRecord]:
        return queryset.filter(occurred_at__lt=day_start(value + datetime.timedelta(days=1)))

    def filter_integrated_number(
        self, queryset: QuerySet[AccessRecord], name: str, value: str
    ) -> QuerySet[AccessRecord]:
        """Records that name this person. PostgreSQL: the list holds the number, over the
        list's GIN index (migration 0026: 0.1 ms among 5,000,000 records, where reading
        the list as text took 0.9 s); SQLite, which has no JSON containment: as text."""
        if connections[queryset.db].vendor == "postgresql":
            return queryset.filter(integrated_numbers__contains=[value])
        return queryset.alias(numbers_text=Cast("integrated_numbers", TextField())).filter(
            numbers_text__contains=f'"{value}"'
        )
