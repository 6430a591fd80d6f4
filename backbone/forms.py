"""The clerk forms of the simulated business systems (S11).

They check what the API checks (linkage.text holds the shared rules), so a clerk sees a
mistake on the form, in Japanese, instead of as linkage's refusal.
"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from linkage.models import Sex
from linkage.text import (
    InvalidText,
    birth_date_check,
    has_forbidden_characters,
    individual_number_normalise,
    katakana_normalise,
)

MESSAGES = {
    "digits": _("個人番号は12桁の数字で入力してください。"),
    "check_digit": _("個人番号のチェックデジットが一致しません。"),
    "not_katakana": _("カタカナ(全角または半角)で入力してください。"),
    "future_date": _("未来の日付は入力できません。"),
    "too_early": _("1868年1月1日より前の日付は入力できません。"),
    "control_characters": _("制御文字や不可視の書式文字は使用できません。"),
}


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class TextField(forms.CharField):
    """A text field refusing control and invisible format characters, as the API does."""

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value and has_forbidden_characters(value):
            raise forms.ValidationError(MESSAGES["control_characters"], code="control_characters")


def _checked(check: Any, value: Any) -> Any:
    try:
        return check(value)
    except InvalidText as error:
        raise forms.ValidationError(MESSAGES[error.code], code=error.code) from error


class ResidentForm(forms.Form):
    """The basic four items and kana; with the individual number when registering."""

    individual_number = forms.CharField(
        label=_("個人番号"),
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )
    name = TextField(label=_("氏名"), max_length=100)
    name_kana = TextField(label=_("氏名カナ"), max_length=100, required=False)
    birth_date = forms.DateField(label=_("生年月日"), widget=DateInput())
    sex = forms.ChoiceField(label=_("性別"), choices=Sex.choices)
    address = TextField(label=_("住所"), max_length=200)

    def __init__(self, *args: Any, registering: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not registering:
            # The individual number of a record never changes: another number is another
            # person, registered as such.
            del self.fields["individual_number"]

    def clean_individual_number(self) -> str:
        return _checked(individual_number_normalise, self.cleaned_data["individual_number"])

    def clean_name_kana(self) -> str:
        return _checked(katakana_normalise, self.cleaned_data["name_kana"])

    def clean_birth_date(self) -> datetime.date:
        return _checked(birth_date_check, self.cleaned_data["birth_date"])


class HouseholdForm(forms.Form):
    household_number = forms.RegexField(
        label=_("世帯番号"), regex=r"^[0-9]{1,15}$", error_messages={"invalid": _("数字15桁以内")}
    )
    relationship = TextField(label=_("続柄"), max_length=20)
    moved_in_on = forms.DateField(label=_("転入日"), widget=DateInput())
    moved_out_on = forms.DateField(label=_("転出日"), widget=DateInput(), required=False)

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
    acquired_on = forms.DateField(label=_("資格取得日"), widget=DateInput())
    lost_on = forms.DateField(label=_("資格喪失日"), widget=DateInput(), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _period_check(self, data, "acquired_on", "lost_on")
        return data


class WelfareForm(forms.Form):
    benefit_type = TextField(label=_("給付種別"), max_length=40)
    started_on = forms.DateField(label=_("開始日"), widget=DateInput())
    ended_on = forms.DateField(label=_("終了日"), widget=DateInput(), required=False)
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
