"""The clerk forms of the simulated business systems (S11), on linkage's field rules
(linkage.forms), so a clerk sees a mistake on the form instead of as linkage's refusal."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from primitives.forms import BasicItemsForm, DateField, IndividualNumberField, TextField


class ResidentForm(BasicItemsForm):
    """The basic four items and kana; with the individual number when registering."""

    individual_number = IndividualNumberField(
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"})
    )
    field_order = ["individual_number"]

    def __init__(
        self, *args: Any, registering: bool = True, number_required: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["individual_number"].required = number_required
        if not number_required:
            self.fields["individual_number"].help_text = _(
                "分からないときは空欄のまま。連携サーバーで同じ方がいないか照会してから登録します。"
            )
        if not registering:
            # The individual number of a record never changes: another number is another
            # person, registered as such.
            del self.fields["individual_number"]


class HouseholdForm(forms.Form):
    household_number = forms.RegexField(
        label=_("世帯番号"), regex=r"^[0-9]{1,15}$", error_messages={"invalid": _("数字15桁以内")}
    )
    relationship = TextField(label=_("続柄"), max_length=20)
    moved_in_on = DateField(label=_("転入日"))
    moved_out_on = DateField(label=_("転出日"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _period_check(self, data, "moved_in_on", "moved_out_on")
        return data


class IncomeForm(forms.Form):
    fiscal_year = forms.IntegerField(label=_("年度"), min_value=1947, max_value=2100)
    income_amount = forms.IntegerField(label=_("所得金額"), min_value=0, max_value=10**12)
    tax_amount = forms.IntegerField(label=_("税額"), min_value=0, max_value=10**12)


class NhiForm(forms.Form):
    insured_number = forms.RegexField(
        label=_("被保険者番号"),
        regex=r"^[0-9]{1,20}$",
        error_messages={"invalid": _("数字20桁以内")},
    )
    acquired_on = DateField(label=_("資格取得日"))
    lost_on = DateField(label=_("資格喪失日"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _period_check(self, data, "acquired_on", "lost_on")
        return data


class WelfareForm(forms.Form):
    benefit_type = TextField(label=_("給付種別"), max_length=40)
    started_on = DateField(label=_("開始日"))
    ended_on = DateField(label=_("終了日"), required=False)
    amount = forms.IntegerField(label=_("月額"), min_value=0, max_value=10**9)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _period_check(self, data, "started_on", "ended_on")
        return data


def _period_check(form: forms.Form, data: dict[str, Any], start: str, end: str) -> None:
    if data.get(start) and data.get(end) and data[end] < data[start]:
        form.add_error(end, _("開始日より前の日付は入力できません。"))


BUSINESS_FORMS: dict[str, type[forms.Form]] = {
    "01": HouseholdForm,
    "02": IncomeForm,
    "03": NhiForm,
    "04": WelfareForm,
}
