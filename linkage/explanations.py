"""What the clerk reads for the causes and errors a code request records.

The service records causes and errors as stable technical text (the staff API and the logs
carry them as they are, other vendors' intermediate servers send their own reasons); the
screens show each in the clerk's language with what to do next. A reason this table does not
know is shown as the intermediate server sent it, with the general next step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

CLERK_RETRY = "clerk_retry:"

_CAUSES: dict[str, Promise] = {
    "person_registered": _("新規登録（宛名異動の受信）"),
    "person_registered (bulk import)": _("新規登録（一括取込）"),
    "request unit: serial-number request refused": _("処理通番の依頼を中間サーバーが拒否"),
    "request unit: code acquisition file refused": _("符号取得依頼ファイルを中間サーバーが拒否"),
    "request unit: code acquisition file": _("符号取得依頼ファイルに本人の行がない"),
    "request unit: S34": _("処理通番を住基に通知できない"),
    "request unit: S34 (住基GW)": _("処理通番を住基GWに送信できない"),
    "confirmation: code acquired": _("確認: 符号を取得"),
    "confirmation: intermediate server reports an error": _("確認: 中間サーバーがエラーを回答"),
}


def cause_label(cause: str) -> str:
    """A transition's cause as the clerk reads it."""
    if cause.startswith(CLERK_RETRY):
        return gettext("職員による再依頼（%(user)s）") % {"user": cause[len(CLERK_RETRY) :]}
    label = _CAUSES.get(cause)
    return str(label) if label is not None else cause


@dataclass(frozen=True)
class Explanation:
    reason: str
    action: str


_ASK_IT = _("情報システム担当に連絡してください（中間サーバーとの接続設定・証明書を確認）。")
_ERRORS: list[tuple[re.Pattern[str], Promise, Promise]] = [
    (
        re.compile(r"not registered in the national resident register"),
        _("住基ネットに未登録の個人番号"),
        _("住基で個人番号を確認のうえ、再依頼してください。"),
    ),
    (
        re.compile(r"invalidated"),
        _("個人番号が変更され失効している"),
        _(
            "住基で新しい個人番号を確認し、業務システムから宛名異動で送ったうえで再依頼してください。"
        ),
    ),
    (
        re.compile(r"refused the serial-number request"),
        _("中間サーバーが処理通番の依頼を拒否"),
        _ASK_IT,
    ),
    (re.compile(r"refused the file"), _("中間サーバーが符号取得依頼ファイルを拒否"), _ASK_IT),
    (
        re.compile(r"the 住基GW server refused the pair"),
        _("住基GWサーバーが処理通番の受付を拒否"),
        _ASK_IT,
    ),
    (
        re.compile(r"does not carry this person's entry"),
        _("符号取得依頼ファイルに本人の行がない"),
        _("再依頼してください。繰り返す場合は情報システム担当に連絡してください。"),
    ),
    (
        re.compile(r"callback URL for code_request\.serial_issued"),
        _("住基システムの通知先URLが未設定"),
        _("情報システム担当に連絡してください（住基の接続先に通知先URLを設定）。"),
    ),
]
_UNKNOWN_ACTION = _("内容を確認のうえ再依頼してください。繰り返す場合は情報システム担当へ。")


def error_explained(error: str) -> Explanation:
    """A failed code request's reason and the clerk's next step."""
    for pattern, reason, action in _ERRORS:
        if pattern.search(error):
            return Explanation(str(reason), str(action))
    return Explanation(error or gettext("理由不明"), str(_UNKNOWN_ACTION))


# The access records' criteria (linkage.services.audit keeps the names the forms and the
# API use): what each is called on the audit screen.
_CRITERIA: dict[str, Promise] = {
    "date_from": _("開始日"),
    "date_to": _("終了日"),
    "encoding": _("形式"),
    "purpose": _("利用目的"),
    "individual_number": _("個人番号"),
    "integrated_number": _("統合宛名番号"),
    "number_system": _("番号体系"),
    "address_number": _("宛名番号"),
    "name": _("氏名"),
    "name_kana": _("氏名カナ"),
    "birth_date": _("生年月日"),
    "birth_date_from": _("生年月日(から)"),
    "birth_date_to": _("生年月日(まで)"),
    "sex": _("性別"),
    "address": _("住所"),
    "ordering": _("並び順"),
    "page": _("ページ"),
    "cause": _("原因"),
    "action": _("操作"),
    "kind": _("種別"),
    "code": _("エラーコード"),
    "retention_days": _("保存日数"),
    "status": _("状態"),
    "stage": _("段階"),
}
_VALUES: dict[str, dict[str, Promise]] = {
    "individual_number": {"(given)": _("入力あり（記録しない）")},
    "encoding": {"utf-8": _("CSV UTF-8"), "cp932": _("CSV Shift_JIS"), "xlsx": _("Excel")},
}


def criteria_labelled(criteria: dict[str, str]) -> list[tuple[str, str]]:
    """(label, value) for each criterion, the purpose and the number system by name; an
    unknown criterion keeps its own name."""
    shown = []
    for name, value in criteria.items():
        label = _CRITERIA.get(name)
        if name == "purpose":
            value = settings.REVEAL_PURPOSES.get(value, value)
        elif name == "number_system" and value in settings.NUMBER_SYSTEMS:
            value = f"{value} {settings.NUMBER_SYSTEMS[value]}"
        elif name in _VALUES and value in _VALUES[name]:
            value = str(_VALUES[name][value])
        shown.append((str(label) if label is not None else name, value))
    return shown
