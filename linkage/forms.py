"""Forms of the clerk screens, and the field rules every clerk form shares.

They check what the API checks (primitives.text holds the rules), so a clerk sees a mistake on
the form, in Japanese, next to the field. No message repeats the value typed.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from primitives.forms import (
    BasicItemsForm,
    DateField,
    IndividualNumberField,
    TextField,
    checked,
)
from primitives.text import date_in_range
from primitives.vocabulary import Sex

OUTDATED_FORM = _("この画面は古くなっています。宛名の画面から訂正を開き直してください。")


class CorrectionForm(BasicItemsForm):
    """訂正 (online function 40): the corrected items and why, and the history_seq of the
    current version the clerk started from (`based_on`): a version stored meanwhile (a business
    system's change, another clerk's correction) must not be overwritten by items the clerk
    never saw change."""

    reason = TextField(
        label=_("訂正理由"),
        max_length=200,
        widget=forms.TextInput(
            attrs={"placeholder": _("例: 住民からの申出により住所の誤記を訂正")}
        ),
    )
    based_on = forms.IntegerField(
        widget=forms.HiddenInput,
        min_value=1,
        error_messages={
            "required": OUTDATED_FORM,
            "invalid": OUTDATED_FORM,
            "min_value": OUTDATED_FORM,
        },
    )


class IndividualNumberSearchForm(forms.Form):
    """Search by individual number: sent by POST, so the number is in no URL or access log."""

    individual_number = IndividualNumberField()


class RevealForm(forms.Form):
    """Why the number is shown (利用目的): one of the configured purposes, recorded."""

    purpose = forms.ChoiceField(label=_("利用目的"), choices=[])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        purpose = self.fields["purpose"]
        assert isinstance(purpose, forms.ChoiceField)  # noqa: S101
        purpose.choices = [("", _("選択してください")), *settings.REVEAL_PURPOSES.items()]
        purpose.error_messages = {
            "required": _("表示する前に利用目的を選んでください。"),
            "invalid_choice": _("利用目的を一覧から選んでください。"),
        }


class PeriodDateField(DateField):
    """A day of a period, within the days a query can name (primitives.text.date_in_range)."""

    def clean(self, value: Any) -> Any:
        value = super().clean(value)
        return checked(date_in_range, value) if value else value


class ChangedResidentsForm(forms.Form):
    """The period of the changed-resident list (list creation 41), both days included."""

    date_from = PeriodDateField(label=_("開始日"))
    date_to = PeriodDateField(label=_("終了日"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            self.add_error("date_to", _("開始日より前の日付は指定できません。"))
        return data


class CandidateSearchForm(BasicItemsForm):
    """名寄せ候補照会 on screen (SPEC 10.2): name or kana, the rest optional."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("name", "birth_date", "sex", "address"):
            self.fields[name].required = False
        sex = self.fields["sex"]
        assert isinstance(sex, forms.ChoiceField)  # noqa: S101
        sex.choices = [("", _("指定なし")), *Sex.choices]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("name") and not cleaned.get("name_kana"):
            raise forms.ValidationError(_("氏名か氏名カナのどちらかを入力してください。"))
        return cleaned

    def clean_birth_date(self) -> Any:
        if self.cleaned_data.get("birth_date") is None:
            return None
        return super().clean_birth_date()


class ReviewActionForm(forms.Form):
    """What a clerk decides on a review item (名寄せ候補)."""

    ACTIONS = [
        ("merge", _("名寄せする")),
        ("different", _("別人")),
        ("later", _("保留（確認中）")),
        ("confirm", _("確認した")),
        ("undo", _("名寄せを解除")),
    ]
    action = forms.ChoiceField(choices=ACTIONS)
    # For "merge": whose integrated number stays (代表宛名).
    representative = forms.CharField(required=False, max_length=15)
    reason = TextField(label=_("理由"), max_length=200, required=False)
