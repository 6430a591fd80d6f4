"""The field rules every form of the clerks' and the business systems' screens shares.

They check what the API checks (primitives.text holds the rules), so a clerk sees a mistake on
the form, in Japanese, next to the field. No message repeats the value typed.
"""

from __future__ import annotations

import datetime
import re
from typing import Any, TypeVar

from django import forms
from django.utils.translation import gettext_lazy as _

from .dates import ACCEPTED_FORMS, date_parse
from .text import (
    InvalidText,
    birth_date_check,
    has_forbidden_characters,
    individual_number_normalise,
    katakana_normalise,
    name_spaces_normalise,
)
from .vocabulary import Sex

MESSAGES = {
    "digits": _("個人番号は12桁の数字で入力してください。"),
    "check_digit": _("個人番号のチェックデジットが一致しません。"),
    "not_katakana": _("カタカナ(全角または半角)で入力してください。"),
    "future_date": _("未来の日付は入力できません。"),
    "too_early": _("1868年1月1日より前の日付は入力できません。"),
    "control_characters": _("制御文字や不可視の書式文字は使用できません。"),
    "out_of_range": _("1868年1月1日から9999年12月29日までの日付を指定してください。"),
}


# Django's messages that repeat the value typed ("Select a valid choice. X is not one of the
# available choices."), and what is said instead: a value typed into a choice may be an
# individual number, and an error must never show it back.
_VALUE_PLACEHOLDERS = ("%(value)", "%(pk)")
VALUE_FREE_MESSAGE = _("正しく選択してください。")


FormT = TypeVar("FormT", bound=forms.BaseForm)


def value_free_messages(form: FormT) -> FormT:
    """`form` with every error message that would repeat a submitted value replaced."""
    for form_field in form.fields.values():
        for code, message in list(form_field.error_messages.items()):
            if any(placeholder in str(message) for placeholder in _VALUE_PLACEHOLDERS):
                form_field.error_messages[code] = VALUE_FREE_MESSAGE
    return form


class ValueFreeForm(forms.Form):
    """A form whose errors never repeat what was typed (see value_free_messages)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        value_free_messages(self)


class DateInput(forms.DateInput):
    """A text box, not the browser's date picker: clerks type 和暦 (S61.3.21) and slashes,
    which a picker cannot take. A stored date is shown as 1986-03-21."""

    input_type = "text"

    def __init__(self, attrs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        attrs = {
            "placeholder": _("例: 1986-03-21 / S61.3.21"),
            "autocomplete": "off",
            "size": 16,
            "class": "date",
            **(attrs or {}),
        }
        super().__init__(attrs=attrs, format="%Y-%m-%d", **kwargs)


DATE_MESSAGES = {
    "format": _("日付は西暦か和暦で入力してください（例: %(forms)s）。"),
    "not_a_date": _("存在しない日付です。"),
    "not_in_era": _(
        "その元号にない日付です。改元の前後は新旧の元号を確かめてください"
        "（例: 平成31年5月1日は令和元年5月1日）。"
    ),
}


class DateField(forms.DateField):
    """A date as clerks type it (primitives.dates: 西暦, 和暦, full-width digits)."""

    widget = DateInput

    def to_python(self, value: Any) -> datetime.date | None:
        if value in self.empty_values:
            return None
        if isinstance(value, datetime.datetime):
            return value.date()
        if isinstance(value, datetime.date):
            return value
        try:
            return date_parse(str(value))
        except InvalidText as error:
            raise forms.ValidationError(
                DATE_MESSAGES[error.code], code=error.code, params={"forms": ACCEPTED_FORMS}
            ) from error


class TextField(forms.CharField):
    """A text field refusing control and invisible format characters, as the API does."""

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value and has_forbidden_characters(value):
            raise forms.ValidationError(MESSAGES["control_characters"], code="control_characters")


def checked(check: Any, value: Any) -> Any:
    """The value as `check` (a primitives.text rule) returns it, or the rule's form error."""
    try:
        return check(value)
    except InvalidText as error:
        raise forms.ValidationError(MESSAGES[error.code], code=error.code) from error


_CARD_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212\u30fc\uff0d]")


class IndividualNumberField(forms.CharField):
    """An individual number: 12 digits (full-width accepted) with a valid check digit. Never
    shown back: the input is a password-style field that is not refilled."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("個人番号"))
        kwargs.setdefault(
            "widget",
            forms.PasswordInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
        )
        super().__init__(max_length=20, **kwargs)

    def clean(self, value: Any) -> str:
        value = super().clean(value)
        # Typed as the card prints it: 1234 5678 9018, or with hyphens.
        value = _CARD_SEPARATORS.sub("", value) if value else value
        return checked(individual_number_normalise, value) if value else value


class BasicItemsForm(ValueFreeForm):
    """The basic four items and kana (基本4情報)."""

    name = TextField(label=_("氏名"), max_length=100)
    name_kana = TextField(label=_("氏名カナ"), max_length=100, required=False)
    birth_date = DateField(label=_("生年月日"))
    sex = forms.ChoiceField(label=_("性別"), choices=Sex.choices)
    address = TextField(label=_("住所"), max_length=200)

    def clean_name(self) -> str:
        return name_spaces_normalise(self.cleaned_data["name"])

    def clean_name_kana(self) -> str:
        return checked(katakana_normalise, self.cleaned_data["name_kana"])

    def clean_birth_date(self) -> datetime.date:
        return checked(birth_date_check, self.cleaned_data["birth_date"])
