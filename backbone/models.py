"""The simulated business systems' own tables (SPEC 5: household 21, income 23, NHI 25,
welfare 27), what they sent to linkage and what linkage told them.

Each system keeps its own address numbers and its own copy of a resident's basic items, as a
separate vendor's system would; it shares nothing with linkage but the HTTP API. The
individual number is kept as blind index + AES-GCM token, as everywhere in this project.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from primitives.crypto import decrypt_secret, mask_individual_number
from primitives.faults import FaultControl
from primitives.sealed import EncryptedIndividualNumber, ForwardedPair
from primitives.vocabulary import NoticeEvent, Sex

API_KEY_PURPOSE = "backbone-api-key"
NOTICE_SECRET_PURPOSE = "backbone-notice-secret"  # noqa: S105 (a label, not a secret)
OAUTH_SECRET_PURPOSE = "backbone-oauth-secret"  # noqa: S105 (a label, not a secret)


class BusinessSystem(models.Model):
    """One business system's connection to linkage: its OAuth client (SPEC 12) or its API
    key, the secret linkage signs its notices with (all sealed), and the counter its address
    numbers come from (S12)."""

    number_system = models.CharField(_("番号体系"), max_length=2, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    linkage_url = models.URLField(_("連携サーバーURL"))
    # Either an OAuth client (how the simulators connect) or a static key (the transition).
    oauth_client_id = models.CharField(max_length=40, blank=True, editable=False)
    oauth_secret_encrypted = models.CharField(max_length=200, blank=True, editable=False)
    api_key_encrypted = models.CharField(max_length=200, blank=True, editable=False)
    notice_secret_encrypted = models.CharField(max_length=200, editable=False)
    # Sealed secrets and the purpose each is bound to (linkage.services.key_rotation).
    SEALED_SECRETS = {
        "oauth_secret_encrypted": OAUTH_SECRET_PURPOSE,
        "api_key_encrypted": API_KEY_PURPOSE,
        "notice_secret_encrypted": NOTICE_SECRET_PURPOSE,
    }
    last_address_number = models.PositiveBigIntegerField(default=0, editable=False)
    # linkage's number for this system's API client (to revoke it when connecting again).
    linkage_client_id = models.PositiveIntegerField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("基幹系システム(模擬)")
        verbose_name_plural = _("基幹系システム(模擬)")
        ordering = ["number_system"]
        permissions = [("operate_business_system", _("業務システム(模擬)を操作できる"))]

    def __str__(self) -> str:
        return f"{self.number_system} {self.name}"

    @property
    def api_key(self) -> str:
        return decrypt_secret(self.api_key_encrypted, purpose=API_KEY_PURPOSE)

    @property
    def oauth_secret(self) -> str:
        return decrypt_secret(self.oauth_secret_encrypted, purpose=OAUTH_SECRET_PURPOSE)

    @property
    def notice_secret(self) -> str:
        return decrypt_secret(self.notice_secret_encrypted, purpose=NOTICE_SECRET_PURPOSE)


class ResidentRecord(EncryptedIndividualNumber):
    """A resident as one business system knows them: its address number, the basic four
    items and kana, its business items, and the integrated number linkage answered (S16)."""

    NUMBER_SYSTEM: ClassVar[str]
    DATA_TYPE: ClassVar[str]
    BUSINESS_FIELDS: ClassVar[tuple[str, ...]]

    # A system other than 住基 may hold a resident whose individual number it does not know
    # (住登外者, SPEC 10): no index then, and linkage numbers the person after a candidate
    # search (the JP standard's flow).
    # NULL, not "": the one-record-per-person constraint ignores NULLs only.
    individual_number_index = models.CharField(  # type: ignore[assignment]  # noqa: DJ001
        max_length=64, null=True, blank=True, db_index=True, editable=False
    )
    individual_number_encrypted = models.CharField(
        max_length=128, blank=True, default="", editable=False
    )
    address_number = models.CharField(_("宛名番号"), max_length=15, unique=True)
    name = models.CharField(_("氏名"), max_length=100)
    name_kana = models.CharField(_("氏名カナ"), max_length=100, blank=True)
    birth_date = models.DateField(_("生年月日"))
    sex = models.CharField(_("性別"), max_length=1, choices=Sex.choices)
    address = models.CharField(_("住所"), max_length=200)
    integrated_number = models.CharField(_("統合宛名番号"), max_length=15, blank=True)
    created_at = models.DateTimeField(_("登録日時"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    objects = models.Manager()

    class Meta:
        abstract = True
        ordering = ["address_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["individual_number_index"], name="%(class)s_one_record_per_person"
            )
        ]

    def __str__(self) -> str:
        return self.address_number

    @property
    def has_individual_number(self) -> bool:
        return self.individual_number_index is not None

    @property
    def individual_number_masked(self) -> str:
        if not self.has_individual_number:
            return ""
        return mask_individual_number(self.individual_number)

    def business_items(self) -> dict[str, Any]:
        """The business items as sent to linkage (strings and numbers only)."""
        items: dict[str, Any] = {}
        for name in self.BUSINESS_FIELDS:
            value = getattr(self, name)
            if value is None or value == "":
                continue
            items[name] = value if isinstance(value, int | str) else value.isoformat()
        return items


class HouseholdRecord(ResidentRecord):
    """住民記録 (住基, table 21): household and movements."""

    NUMBER_SYSTEM = "01"
    DATA_TYPE = "household"
    BUSINESS_FIELDS = ("household_number", "relationship", "moved_in_on", "moved_out_on")

    household_number = models.CharField(_("世帯番号"), max_length=15)
    relationship = models.CharField(_("続柄"), max_length=20)
    moved_in_on = models.DateField(_("転入日"))
    moved_out_on = models.DateField(_("転出日"), null=True, blank=True)

    class Meta(ResidentRecord.Meta):
        verbose_name = _("住民記録")
        verbose_name_plural = _("住民記録")


class IncomeRecord(ResidentRecord):
    """所得 (税, table 23): one fiscal year's income and tax."""

    NUMBER_SYSTEM = "02"
    DATA_TYPE = "income"
    BUSINESS_FIELDS = ("fiscal_year", "income_amount", "tax_amount")

    fiscal_year = models.PositiveSmallIntegerField(_("年度"))
    income_amount = models.PositiveBigIntegerField(_("所得金額"))
    tax_amount = models.PositiveBigIntegerField(_("税額"))
    # The copy (副本) of this income linkage keeps for the intermediate server (SPEC 11).
    copy_id = models.CharField(_("副本ID"), max_length=36, blank=True)

    class Meta(ResidentRecord.Meta):
        verbose_name = _("所得情報")
        verbose_name_plural = _("所得情報")


class NhiRecord(ResidentRecord):
    """国保資格 (国保, table 25): insured number and the period of coverage."""

    NUMBER_SYSTEM = "03"
    DATA_TYPE = "nhi"
    BUSINESS_FIELDS = ("insured_number", "acquired_on", "lost_on")

    insured_number = models.CharField(_("被保険者番号"), max_length=20)
    acquired_on = models.DateField(_("資格取得日"))
    lost_on = models.DateField(_("資格喪失日"), null=True, blank=True)

    class Meta(ResidentRecord.Meta):
        verbose_name = _("国保資格")
        verbose_name_plural = _("国保資格")


class WelfareRecord(ResidentRecord):
    """福祉受給 (福祉, table 27): the benefit, its period and monthly amount."""

    NUMBER_SYSTEM = "04"
    DATA_TYPE = "welfare"
    BUSINESS_FIELDS = ("benefit_type", "started_on", "ended_on", "amount")

    benefit_type = models.CharField(_("給付種別"), max_length=40)
    started_on = models.DateField(_("開始日"))
    ended_on = models.DateField(_("終了日"), null=True, blank=True)
    amount = models.PositiveIntegerField(_("月額"))
    # The last inquiry (情報照会) made for this benefit, answered through linkage (SPEC 11).
    inquiry_id = models.CharField(_("照会ID"), max_length=36, blank=True)

    class Meta(ResidentRecord.Meta):
        verbose_name = _("福祉受給")
        verbose_name_plural = _("福祉受給")


RECORD_MODELS: dict[str, type[ResidentRecord]] = {
    model.NUMBER_SYSTEM: model
    for model in (HouseholdRecord, IncomeRecord, NhiRecord, WelfareRecord)
}


class Submission(models.Model):
    """送信記録: one address change a clerk's action produced (S13-S14) and what linkage
    answered. Saved before it is sent, so nothing typed is lost when linkage is down; sent
    again with the same event_id, so a resend never counts twice. `body` is the change
    without the individual number, which is added from the record when it is sent."""

    class Kind(models.TextChoices):
        REGISTER = "register", _("新規登録")
        CHANGE = "change", _("異動")

    class Status(models.TextChoices):
        PENDING = "pending", _("未送信")
        ACCEPTED = "accepted", _("受理")
        REFUSED = "refused", _("エラー")
        UNREACHABLE = "unreachable", _("接続不可")
        SUPERSEDED = "superseded", _("後続の送信に置換")

    number_system = models.CharField(_("番号体系"), max_length=2)
    address_number = models.CharField(_("宛名番号"), max_length=15)
    event_id = models.CharField(max_length=64, unique=True)
    kind = models.CharField(_("種別"), max_length=10, choices=Kind.choices)
    body = models.JSONField()
    status = models.CharField(
        _("状態"), max_length=12, choices=Status.choices, default=Status.PENDING
    )
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    answer = models.JSONField(default=dict, blank=True)
    error = models.CharField(_("理由"), max_length=500, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)
    sent_at = models.DateTimeField(_("送信日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("送信記録")
        verbose_name_plural = _("送信記録")
        ordering = ["-pk"]
        indexes = [
            models.Index(fields=["number_system", "address_number"], name="submission_record_idx")
        ]

    def __str__(self) -> str:
        return self.event_id


class ReceivedNotice(models.Model):
    """受信通知: every notice a system accepted from linkage, by event id, so a repeat is
    dropped; `outcome` says what the system did with it."""

    number_system = models.CharField(_("番号体系"), max_length=2)
    event_id = models.CharField(max_length=64)
    event = models.CharField(_("通知種別"), max_length=40)
    address_number = models.CharField(_("宛名番号"), max_length=15, blank=True, db_index=True)
    data = models.JSONField(help_text="the notice's data, without any individual number")
    outcome = models.CharField(_("処理結果"), max_length=300)
    received_at = models.DateTimeField(_("受信日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("受信通知")
        verbose_name_plural = _("受信通知")
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["number_system", "event_id"], name="received_notice_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.number_system}:{self.event_id}"

    @property
    def event_label(self) -> str:
        """The event as a clerk reads it (宛名情報の更新), or as sent if unknown."""
        try:
            return str(NoticeEvent(self.event).label)
        except ValueError:
            return self.event


class SerialNumberNotice(ForwardedPair):
    """住基 20 (first embodiment, S34/S60): a (processing serial number, individual number) pair
    received from linkage in a code_request.serial_issued notice, to be passed on to the
    communication server."""


# The business systems' notice receivers are simulators too: their faults, by number system.
RECEIVERS = {"01": "jyuki", "02": "tax", "03": "nhi", "04": "welfare"}


class ReceiverControl(FaultControl):
    """Fault injection for one business system's notice receiver
    (`manage.py business_system_control`)."""
