"""The shared vocabulary of the contract between linkage and the business systems (SPEC 7):
the basic items, the sex codes, the record statuses and the notice events, as every party to
it names them."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

BASIC_ITEMS = ("name", "name_kana", "birth_date", "sex", "address")


class Sex(models.TextChoices):
    """ISO 5218."""

    UNKNOWN = "0", _("不明")
    MALE = "1", _("男")
    FEMALE = "2", _("女")
    NOT_APPLICABLE = "9", _("適用不能")


# The codes as a set, for a check that costs a lookup (Sex.values builds a list each time).
SEX_CODES = frozenset(Sex.values)


class RecordStatus(models.TextChoices):
    """Whether a business system still handles the person (SPEC 7.1 `record_status`)."""

    ACTIVE = "active", _("有効")
    ENDED = "ended", _("消除")


class NoticeEvent(models.TextChoices):
    """The notices linkage sends to business systems (SPEC 7, outbound)."""

    INTEGRATED_NUMBER_ASSIGNED = "integrated_number.assigned", _("統合宛名番号の付番")
    ADDRESS_UPDATED = "address.updated", _("宛名情報の更新")
    SERIAL_ISSUED = "code_request.serial_issued", _("処理通番の発行")
    PERSON_MERGED = "person.merged", _("名寄せ")
    PERSON_UNMERGED = "person.unmerged", _("名寄せ解除")
    INQUIRY_ANSWERED = "inquiry.answered", _("情報照会の回答")
