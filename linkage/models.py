"""The linkage data model: the seed's figures 3 and 4 in first normal form (SPEC section 5)."""

from __future__ import annotations

import uuid
from typing import Any

import pghistory
from django.conf import settings
from django.core.validators import RegexValidator, URLValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from primitives.crypto import (
    blind_index_key_id,
    decrypt_individual_number,
    decrypt_secret,
    mask_individual_number,
)
from primitives.text import name_search_key, search_key
from primitives.vocabulary import NoticeEvent, RecordStatus, Sex

NOTICE_SECRET_PURPOSE = "notice-signing"  # noqa: S105 (a label, not a secret)
OAUTH_SECRET_PURPOSE = "oauth-client-secret"  # noqa: S105 (a label, not a secret)


# 基本4情報 (name, birth date, sex, address) and the kana of the name: what a version holds.
class CodeRequestStatus(models.TextChoices):
    """符号依頼状態 (SPEC 6: the code request state machine)."""

    NOT_REQUESTED = "not_requested", _("未依頼")
    REQUESTING = "requesting", _("依頼中")
    REQUESTED = "requested", _("依頼済")
    ERROR = "error", _("エラー")


class CodeRequestStage(models.TextChoices):
    """How far the request unit (38) has taken a `requesting` code request (seed S28-S34)."""

    PENDING = "pending", _("未送信")
    SERIAL_REQUESTED = "serial_requested", _("処理通番依頼済")
    IN_FILE = "in_file", _("符号取得依頼ファイル依頼済")
    SENT = "sent", _("住基へ送信済")


class IndividualNumberPurged(Exception):
    """The person's individual number was deleted after the retention period."""


class IndividualNumberUnknown(Exception):
    """No business system has sent the person's individual number (SPEC 10)."""


# Data history (ASVS V7, the 特定個人情報 guideline's records): every insert and update of
# persons, versions, cross-references and code requests is copied by a database trigger
# (django-pghistory) with the time and the request's user and path, whatever wrote it:
# the ORM, a queryset update or the bulk import's COPY. PostgreSQL only (the production
# database); SQLite, for the demo, keeps none. The individual number is not copied.
def _tracked() -> tuple[pghistory.InsertEvent, pghistory.UpdateEvent]:
    return pghistory.InsertEvent(), pghistory.UpdateEvent()


def _history_meta(label: Any) -> dict[str, Any]:
    """The history model's names in the admin: 「統合宛名の変更履歴」, not "Person events"."""
    return {"verbose_name": label, "verbose_name_plural": label}


@pghistory.track(
    *_tracked(),
    meta=_history_meta(_("統合宛名の変更履歴")),
    exclude=[
        "individual_number_index",
        "individual_number_encrypted",
        "individual_number_index_key",
    ],
)
class Person(models.Model):
    """統合宛名: one row per individual number, the integrated-number side of 宛名情報テーブル 33.

    The individual number is never stored in plain text: `individual_number_index` is its
    HMAC blind index (lookup, uniqueness) and `individual_number_encrypted` the AES-GCM token.
    """

    integrated_number = models.CharField(_("統合宛名番号"), max_length=15, unique=True)
    # None: a person whose individual number nobody sent (住登外者, SPEC 10); unique where set.
    individual_number_index = models.CharField(
        _("個人番号の検索用索引"), max_length=64, unique=True, null=True, blank=True, editable=False
    )
    individual_number_encrypted = models.CharField(
        _("個人番号（暗号化）"), max_length=128, blank=True, default="", editable=False
    )
    # The id of the blind-index key the index was made with (rotate_blind_index_key).
    # Existing rows get the key configured when the column is added: the one that made them.
    individual_number_index_key = models.CharField(
        _("索引の鍵"), max_length=8, blank=True, editable=False, default=blind_index_key_id
    )
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)
    # After the retention period (purge_expired): the number, its index and its token are
    # gone; the last four digits stay for the masked display.
    purged_at = models.DateTimeField(_("個人番号削除日時"), null=True, blank=True, editable=False)
    individual_number_last4 = models.CharField(
        _("個人番号の下4桁"), max_length=4, blank=True, editable=False
    )
    # 名寄せ (SPEC 10.4): this person was merged into its representative (代表宛名); its
    # links resolve to it. The row, its number and its versions stay for the unmerge.
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="merged_persons",
        verbose_name=_("名寄せ先"),
    )

    class Meta:
        verbose_name = _("統合宛名")
        verbose_name_plural = _("統合宛名")
        permissions = [
            ("correct_person", _("基本4情報を訂正できる")),
            ("reveal_individual_number", _("個人番号を表示できる")),
            ("export_person", _("異動者一覧を出力できる")),
            ("merge_person", _("名寄せ・名寄せ解除ができる")),
        ]

    def __str__(self) -> str:
        return self.integrated_number

    @property
    def has_individual_number(self) -> bool:
        """Whether linkage holds the person's individual number (not purged, not unknown)."""
        return self.individual_number_index is not None and self.purged_at is None

    @property
    def individual_number(self) -> str:
        if self.purged_at is not None:
            raise IndividualNumberPurged(self.integrated_number)
        if self.individual_number_index is None:
            raise IndividualNumberUnknown(self.integrated_number)
        return decrypt_individual_number(
            self.individual_number_encrypted, index=self.individual_number_index
        )

    @property
    def individual_number_masked(self) -> str:
        if self.purged_at is not None:
            return "*" * 8 + self.individual_number_last4
        if self.individual_number_index is None:
            return ""
        return mask_individual_number(self.individual_number)


class AddressVersionQuerySet(models.QuerySet["AddressVersion"]):
    def current(self) -> AddressVersionQuerySet:
        """Each person's newest version: what search and lists show."""
        return self.filter(is_current=True)

    def supersede(self, person_ids: list[int]) -> int:
        """Mark these persons' current versions as no longer current, before their new ones
        are written (one current version per person is a constraint)."""
        if not person_ids:  # a batch of new persons only: nothing to compile or send
            return 0
        return self.filter(person_id__in=person_ids, is_current=True).update(is_current=False)


@pghistory.track(*_tracked(), meta=_history_meta(_("宛名情報の変更履歴")))
class AddressVersion(models.Model):
    """宛名情報テーブル 33 (seed figure 3): one version of a person's basic four items.

    `history_seq` counts 1, 2, 3... per person (larger is newer); `registered_at` is when
    linkage stored the version (新規登録時点). `is_current` marks the newest, and `name_key`
    and `address_key` hold its text in search form (primitives.text.search_key), indexed for
    partial search (pg_trgm on PostgreSQL).
    """

    class Source(models.TextChoices):
        ADDRESS_CHANGE = "address_change", _("宛名異動")
        CORRECTION = "correction", _("訂正")

    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="versions", verbose_name=_("統合宛名")
    )
    history_seq = models.PositiveIntegerField(_("履歴SEQ"))
    source = models.CharField(
        _("登録元"), max_length=20, choices=Source.choices, default=Source.ADDRESS_CHANGE
    )
    number_system = models.CharField(_("番号体系"), max_length=2)
    address_number = models.CharField(_("宛名番号"), max_length=15)
    name = models.CharField(_("氏名"), max_length=100)
    name_kana = models.CharField(_("氏名カナ"), max_length=100, blank=True)
    birth_date = models.DateField(_("生年月日"))
    sex = models.CharField(_("性別"), max_length=1, choices=Sex.choices)
    address = models.CharField(_("住所"), max_length=200)
    changed_at = models.DateTimeField(_("異動日時"))
    registered_at = models.DateTimeField(_("新規登録時点"), auto_now_add=True, db_index=True)
    reason = models.CharField(_("訂正理由"), max_length=200, blank=True)
    corrected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("訂正者"),
    )
    receipt = models.ForeignKey(
        "AddressChangeReceipt",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="versions",
        help_text="the address change this version came from",
        verbose_name=_("受信記録"),
    )
    is_current = models.BooleanField(_("現在の版"), default=True, editable=False)
    # Text, not bounded: NFKC can make a key many times longer than what was typed
    # (㍿ -> 株式会社, ﷺ -> 18 letters), and a key must never be refused for its length.
    name_key = models.TextField(_("氏名の検索キー"), editable=False, default="")
    address_key = models.TextField(_("住所の検索キー"), editable=False, default="")

    objects = AddressVersionQuerySet.as_manager()

    class Meta:
        verbose_name = _("宛名情報")
        verbose_name_plural = _("宛名情報")
        ordering = ["person_id", "history_seq"]
        constraints = [
            models.UniqueConstraint(fields=["person", "history_seq"], name="version_seq_unique"),
            models.UniqueConstraint(
                fields=["person"],
                condition=models.Q(is_current=True),
                name="version_current_unique",
            ),
        ]
        indexes = [
            models.Index(
                fields=["birth_date"], condition=models.Q(is_current=True), name="version_birth_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_id}#{self.history_seq}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.search_keys_fill()
        super().save(*args, **kwargs)

    @classmethod
    def item_label(cls, name: str) -> Any:
        """A basic item's name as clerks read it (氏名, 氏名カナ …): the field's own."""
        field = cls._meta.get_field(name)
        assert isinstance(field, models.Field)  # noqa: S101 (the basic items are fields)
        return field.verbose_name

    def search_keys_fill(self) -> None:
        self.name_key = name_search_key(self.name, self.name_kana)
        self.address_key = search_key(self.address)


@pghistory.track(*_tracked(), meta=_history_meta(_("宛名番号対応の変更履歴")))
class CrossReference(models.Model):
    """宛名番号の対応: (number_system, address_number) -> person; one address number, one person.

    `record_status` ended: the system no longer handles the person (消除); the link stays,
    and the retention period of the individual number runs once every link has ended.
    """

    number_system = models.CharField(_("番号体系"), max_length=2)
    address_number = models.CharField(_("宛名番号"), max_length=15)
    person = models.ForeignKey(
        Person,
        on_delete=models.PROTECT,
        related_name="cross_references",
        verbose_name=_("統合宛名"),
    )
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)
    record_status = models.CharField(
        _("記録の状態"), max_length=6, choices=RecordStatus.choices, default=RecordStatus.ACTIVE
    )
    ended_at = models.DateTimeField(_("消除日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("宛名番号対応")
        verbose_name_plural = _("宛名番号対応")
        constraints = [
            models.UniqueConstraint(
                fields=["number_system", "address_number"], name="cross_reference_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number_system}:{self.address_number}"


class BusinessInformation(models.Model):
    """業務情報テーブル 34 (seed figure 4): business items per person and data type.

    Every arrival is kept; the newest row per (person, data_type) is the current one.
    """

    person = models.ForeignKey(
        Person,
        on_delete=models.PROTECT,
        related_name="business_information",
        verbose_name=_("統合宛名"),
    )
    address_version = models.ForeignKey(
        AddressVersion,
        on_delete=models.PROTECT,
        related_name="business_information",
        verbose_name=_("宛名情報"),
    )
    number_system = models.CharField(_("番号体系"), max_length=2)
    data_type = models.CharField(_("データ種別"), max_length=32)
    confirmed_at = models.DateTimeField(_("確定時点"), null=True, blank=True)
    items = models.JSONField(_("業務項目"), default=dict)
    registered_at = models.DateTimeField(_("新規登録時点"), auto_now_add=True)

    class Meta:
        verbose_name = _("業務情報")
        verbose_name_plural = _("業務情報")
        indexes = [models.Index(fields=["person", "data_type"], name="business_person_type_idx")]

    def __str__(self) -> str:
        return f"{self.person_id}:{self.data_type}"


@pghistory.track(*_tracked(), meta=_history_meta(_("符号取得依頼の変更履歴")))
class CodeRequest(models.Model):
    """符号取得依頼: the one code request of a person (claim 2), and the pending-work record.

    The row is written in the same transaction as the person; the request unit (38) drives it.
    Its status is the person's 符号依頼状態: there is no second copy on Person.
    """

    person = models.OneToOneField(
        Person, on_delete=models.PROTECT, related_name="code_request", verbose_name=_("統合宛名")
    )
    status = models.CharField(
        _("符号依頼状態"),
        max_length=20,
        choices=CodeRequestStatus.choices,
        default=CodeRequestStatus.NOT_REQUESTED,
        db_index=True,
    )
    stage = models.CharField(
        _("処理段階"),
        max_length=20,
        choices=CodeRequestStage.choices,
        default=CodeRequestStage.PENDING,
    )
    generation = models.PositiveIntegerField(
        _("依頼回数"),
        default=1,
        help_text="1 for the first request, +1 for each re-request after an error",
    )
    file = models.ForeignKey(
        "CodeAcquisitionFile",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="code_requests",
        verbose_name=_("符号取得依頼ファイル"),
    )
    processing_serial_number = models.CharField(_("処理通番"), max_length=32, blank=True)
    reception_number = models.CharField(_("受付番号"), max_length=32, blank=True)
    attempts = models.PositiveIntegerField(_("試行回数"), default=0)
    last_error = models.TextField(_("最後のエラー"), blank=True)
    status_changed_at = models.DateTimeField(_("状態の変更日時"))
    stage_changed_at = models.DateTimeField(
        _("段階の変更日時"), default=timezone.now, db_index=True
    )
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    class Meta:
        verbose_name = _("符号取得依頼")
        verbose_name_plural = _("符号取得依頼")
        permissions = [("retry_coderequest", _("符号取得を再依頼できる"))]
        indexes = [models.Index(fields=["status", "stage"], name="code_request_work_idx")]

    def __str__(self) -> str:
        return f"{self.person_id}:{self.status}"


class CodeAcquisitionFile(models.Model):
    """符号取得依頼ファイル (S30-S33): one request to the intermediate server for many persons.

    Written before the request is sent; `idempotency_key` makes a resent request the same
    request, and `reception_number` is the intermediate server's 受付番号.
    """

    idempotency_key = models.UUIDField(
        _("冪等キー"), default=uuid.uuid4, unique=True, editable=False
    )
    reception_number = models.CharField(_("受付番号"), max_length=32, blank=True)
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)
    fetched_at = models.DateTimeField(_("取得日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("符号取得依頼ファイル")
        verbose_name_plural = _("符号取得依頼ファイル")

    def __str__(self) -> str:
        return self.reception_number or str(self.idempotency_key)


class CodeRequestTransition(models.Model):
    """符号依頼状態の遷移: every status change of a code request with its cause and time."""

    code_request = models.ForeignKey(
        CodeRequest,
        on_delete=models.PROTECT,
        related_name="transitions",
        verbose_name=_("符号取得依頼"),
    )
    from_status = models.CharField(
        _("変更前の状態"), max_length=20, choices=CodeRequestStatus.choices
    )
    to_status = models.CharField(
        _("変更後の状態"), max_length=20, choices=CodeRequestStatus.choices
    )
    cause = models.CharField(_("原因"), max_length=200)
    occurred_at = models.DateTimeField(_("日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("符号依頼状態の遷移")
        verbose_name_plural = _("符号依頼状態の遷移")
        ordering = ["occurred_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status}->{self.to_status}"


class ApiKeyQuerySet(models.QuerySet[Any]):
    def usable_with(self, digest: str) -> models.QuerySet[Any]:
        """The key with this digest if it may be used now: not revoked, not expired; or the
        key it replaced, during the grace period of a rotation."""
        now = timezone.now()
        return self.filter(
            models.Q(key_digest=digest)
            | models.Q(previous_key_digest=digest, previous_key_valid_until__gt=now),
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now),
            revoked_at__isnull=True,
        )


class ApiKey(models.Model):
    """An API key kept as a SHA-256 digest only (the key is 256 random bits, so a fast digest
    is enough); `key_prefix` lets administrators tell keys apart.

    Keys expire (`expires_at`), are revoked (`revoked_at`) and rotated: the new key's digest
    replaces the old one, which keeps working until `previous_key_valid_until` so the system
    using it can switch without downtime. `rate_limit` overrides the default request rate.
    """

    name = models.CharField(_("名称"), max_length=100)
    key_prefix = models.CharField(_("キーの先頭"), max_length=12, editable=False)
    key_digest = models.CharField(
        _("キーのダイジェスト"), max_length=64, unique=True, editable=False
    )
    previous_key_digest = models.CharField(
        _("旧キーのダイジェスト"), max_length=64, blank=True, db_index=True, editable=False
    )
    previous_key_valid_until = models.DateTimeField(
        _("旧キーの有効期限"), null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)
    expires_at = models.DateTimeField(_("有効期限"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("失効日時"), null=True, blank=True)
    rate_limit = models.CharField(
        _("リクエスト上限"),
        max_length=20,
        blank=True,
        validators=[
            RegexValidator(r"^[0-9]+/(s|m|h|d)$", _("「600/m」の形式で入力してください。"))
        ],
        help_text="requests per second, minute, hour or day, e.g. 600/m; empty: the default",
    )

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        abstract = True


class BackboneClient(ApiKey):
    """基幹系システム 10 as an API client: one key, bound to one number system."""

    number_system = models.CharField(_("番号体系"), max_length=2)
    callback_url = models.URLField(
        _("通知先URL"),
        blank=True,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text="where linkage sends this system's notices (http or https)",
    )
    notice_secret_encrypted = models.CharField(
        _("通知署名鍵（暗号化）"), max_length=200, blank=True, editable=False
    )

    # Sealed secrets and the purpose each is bound to (linkage.services.key_rotation).
    SEALED_SECRETS = {"notice_secret_encrypted": NOTICE_SECRET_PURPOSE}

    class Meta:
        verbose_name = _("基幹系システム")
        verbose_name_plural = _("基幹系システム")

    def __str__(self) -> str:
        return f"{self.number_system} {self.name}"

    @property
    def notice_secret(self) -> str:
        """The HMAC key signing this system's notices (shared with the system once)."""
        return decrypt_secret(self.notice_secret_encrypted, purpose=NOTICE_SECRET_PURPOSE)

    @property
    def is_authenticated(self) -> bool:
        """DRF treats `request.user` as authenticated through this attribute."""
        return True


class StaffToken(ApiKey):
    """An API key of a staff user (職員): reads the staff endpoints with that user's permissions."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        verbose_name=_("職員"),
    )

    class Meta:
        verbose_name = _("職員APIキー")
        verbose_name_plural = _("職員APIキー")

    def __str__(self) -> str:
        return f"{self.user} {self.name}"


class OAuthClient(models.Model):
    """A backbone system's OAuth 2.0 client (SPEC 12, the JP standard's 庁内データ連携).

    It authenticates with `client_secret_jwt` (RFC 7523) or `client_secret_basic` and gets
    short-lived bearer tokens that act as its backbone client: the same number system, the
    same rate limit. The secret signs the client's assertions (HS256), so linkage must be able
    to read it back: it is sealed like the individual number, and a database dump alone cannot
    sign anything. A rotation keeps the previous secret until `previous_secret_valid_until`.
    """

    backbone_client = models.OneToOneField(
        BackboneClient,
        on_delete=models.CASCADE,
        related_name="oauth_client",
        verbose_name=_("基幹系システム"),
    )
    client_id = models.CharField(_("クライアントID"), max_length=64, unique=True, editable=False)
    secret_encrypted = models.CharField(
        _("クライアントシークレット（暗号化）"), max_length=200, editable=False
    )
    previous_secret_encrypted = models.CharField(
        _("旧クライアントシークレット（暗号化）"), max_length=200, blank=True, editable=False
    )
    previous_secret_valid_until = models.DateTimeField(
        _("旧クライアントシークレットの有効期限"), null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("失効日時"), null=True, blank=True)

    SEALED_SECRETS = {
        "secret_encrypted": OAUTH_SECRET_PURPOSE,
        "previous_secret_encrypted": OAUTH_SECRET_PURPOSE,
    }

    class Meta:
        verbose_name = _("OAuthクライアント")
        verbose_name_plural = _("OAuthクライアント")

    def __str__(self) -> str:
        return f"{self.client_id} ({self.backbone_client})"

    def secrets(self, now: Any = None) -> list[str]:
        """The secrets that authenticate this client now: the current one, and the previous
        one during the grace period of a rotation."""
        now = now or timezone.now()
        found = [decrypt_secret(self.secret_encrypted, purpose=OAUTH_SECRET_PURPOSE)]
        if (
            self.previous_secret_encrypted
            and self.previous_secret_valid_until
            and self.previous_secret_valid_until > now
        ):
            found.append(
                decrypt_secret(self.previous_secret_encrypted, purpose=OAUTH_SECRET_PURPOSE)
            )
        return found

    @property
    def usable(self) -> bool:
        client = self.backbone_client
        return (
            self.revoked_at is None
            and client.revoked_at is None
            and (client.expires_at is None or client.expires_at > timezone.now())
        )


class OAuthAccessTokenQuerySet(models.QuerySet["OAuthAccessToken"]):
    def active(self) -> OAuthAccessTokenQuerySet:
        """Tokens that may be used now: not expired, not revoked, their client usable."""
        now = timezone.now()
        return self.filter(
            models.Q(client__backbone_client__expires_at__isnull=True)
            | models.Q(client__backbone_client__expires_at__gt=now),
            expires_at__gt=now,
            revoked_at__isnull=True,
            client__revoked_at__isnull=True,
            client__backbone_client__revoked_at__isnull=True,
        )

    def usable_with(self, digest: str) -> OAuthAccessTokenQuerySet:
        """The active token with this digest, its client and backbone client in one query."""
        return self.active().select_related("client__backbone_client").filter(token_digest=digest)


class OAuthAccessToken(models.Model):
    """A bearer access token (RFC 6750) issued to an OAuth client: kept as a SHA-256 digest
    only, like an API key; minutes long (OAUTH_ACCESS_TOKEN_SECONDS), never refreshed."""

    client = models.ForeignKey(
        OAuthClient,
        on_delete=models.CASCADE,
        related_name="access_tokens",
        verbose_name=_("OAuthクライアント"),
    )
    token_digest = models.CharField(
        _("トークンのダイジェスト"), max_length=64, unique=True, editable=False
    )
    scope = models.TextField(_("スコープ"), editable=False)
    issued_at = models.DateTimeField(_("発行日時"), editable=False)
    expires_at = models.DateTimeField(_("有効期限"), db_index=True, editable=False)
    revoked_at = models.DateTimeField(_("失効日時"), null=True, blank=True)

    objects = OAuthAccessTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("アクセストークン")
        verbose_name_plural = _("アクセストークン")

    def __str__(self) -> str:
        return f"{self.client.client_id} {self.issued_at:%Y-%m-%d %H:%M:%S}"

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(self.scope.split())


class OAuthAssertionUse(models.Model):
    """The `jti` of every client assertion accepted, until the assertion expires: the
    unique constraint refuses a replayed assertion (RFC 7523 section 3, item 7)."""

    client = models.ForeignKey(OAuthClient, on_delete=models.CASCADE, related_name="+")
    jti = models.CharField(max_length=255)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("使用済みのクライアントアサーション")
        verbose_name_plural = _("使用済みのクライアントアサーション")
        constraints = [
            models.UniqueConstraint(fields=["client", "jti"], name="oauth_assertion_once")
        ]

    def __str__(self) -> str:
        return f"{self.client_id} {self.jti}"


class AddressChangeReceipt(models.Model):
    """受付記録: one row per accepted event_id, with the answer given (idempotency).

    `body_digest` is a keyed digest of the normalised request: the same event_id with another
    body is a conflict, with the same body the stored answer is returned again.
    """

    client = models.ForeignKey(
        BackboneClient,
        on_delete=models.PROTECT,
        related_name="receipts",
        verbose_name=_("業務システム"),
    )
    number_system = models.CharField(_("番号体系"), max_length=2)
    event_id = models.CharField(_("イベントID"), max_length=64)
    body_digest = models.CharField(_("本文のダイジェスト"), max_length=64)
    status_code = models.PositiveSmallIntegerField(_("HTTPステータス"))
    response = models.JSONField(_("応答"))
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="receipts", verbose_name=_("統合宛名")
    )
    received_at = models.DateTimeField(_("受信日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("受付記録")
        verbose_name_plural = _("受付記録")
        constraints = [
            models.UniqueConstraint(
                fields=["number_system", "event_id"], name="receipt_event_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number_system}:{self.event_id}"


class NoticeQuerySet(models.QuerySet["Notice"]):
    def for_live_clients(self) -> NoticeQuerySet:
        """Notices to clients not revoked (a revoked client's notices are kept, never sent)."""
        return self.filter(client__revoked_at__isnull=True)

    def deliverable(self) -> NoticeQuerySet:
        """Notices still to be sent."""
        return self.for_live_clients().filter(status=Notice.Status.PENDING)


class Notice(models.Model):
    """通知: one notice to one business system, written in the transaction of its cause and
    delivered by a task until the receiver accepts it (the outbox of S27/S120/S34).

    `payload` never holds the individual number: a `code_request.serial_issued` notice adds
    it from the person's encrypted value when it is sent.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("未送達")
        DELIVERED = "delivered", _("送達済")

    event_id = models.UUIDField(_("イベントID"), default=uuid.uuid4, unique=True, editable=False)
    event = models.CharField(_("通知種別"), max_length=40, choices=NoticeEvent.choices)
    client = models.ForeignKey(
        BackboneClient,
        on_delete=models.PROTECT,
        related_name="notices",
        verbose_name=_("業務システム"),
    )
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="notices", verbose_name=_("統合宛名")
    )
    payload = models.JSONField(_("内容"))
    status = models.CharField(
        _("送達状態"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("試行回数"), default=0)
    last_error = models.CharField(_("最後のエラー"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)
    next_attempt_at = models.DateTimeField(_("次の送信日時"), default=timezone.now)
    delivered_at = models.DateTimeField(_("送達日時"), null=True, blank=True)

    objects = NoticeQuerySet.as_manager()

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["pk"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="notice_due_idx")]

    def __str__(self) -> str:
        return f"{self.event} {self.event_id}"


class CopyQuerySet(models.QuerySet["Copy"]):
    def due(self) -> CopyQuerySet:
        """Copies whose newest revision the intermediate server has not taken yet (a
        registration, a replacement or a withdrawal), of persons whose code is acquired."""
        return self.filter(delivered_revision__lt=models.F("revision")).exclude(
            status=Copy.Status.WAITING_FOR_CODE
        )


class Copy(models.Model):
    """副本: a business system's copy of one record of a data set (特定個人情報), registered
    on the intermediate server so other institutions' inquiries are answered from it (SPEC 11,
    the intermediate server's DBM interface).

    Each registration, replacement and withdrawal is a new `revision`; the intermediate server
    has taken every revision up to `delivered_revision`. A copy of a person whose code is not
    yet acquired waits (`waiting_for_code`, 符号未取得) and goes out by itself once it is.
    """

    class Status(models.TextChoices):
        WAITING_FOR_CODE = "waiting_for_code", _("符号未取得")
        SENT = "sent", _("送信中")
        REGISTERED = "registered", _("登録済")
        WITHDRAWN = "withdrawn", _("削除済")
        ERROR = "error", _("エラー")

    copy_id = models.UUIDField(_("副本ID"), default=uuid.uuid4, unique=True, editable=False)
    client = models.ForeignKey(
        BackboneClient,
        on_delete=models.PROTECT,
        related_name="copies",
        verbose_name=_("業務システム"),
    )
    number_system = models.CharField(_("番号体系"), max_length=2)
    event_id = models.CharField(_("イベントID"), max_length=100)
    body_digest = models.CharField(_("本文のダイジェスト"), max_length=64)
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="copies", verbose_name=_("統合宛名")
    )
    address_number = models.CharField(_("宛名番号"), max_length=20)
    data_set = models.CharField(_("特定個人情報"), max_length=64)
    record_key = models.CharField(_("レコードキー"), max_length=100)
    items = models.JSONField(_("項目"))
    valid_from = models.DateField(_("有効開始日"))
    valid_to = models.DateField(_("有効終了日"), null=True, blank=True)
    status = models.CharField(_("状態"), max_length=16, choices=Status.choices)
    revision = models.PositiveIntegerField(_("版"), default=1)
    delivered_revision = models.PositiveIntegerField(_("中間サーバーの版"), default=0)
    attempts = models.PositiveIntegerField(_("送信回数"), default=0)
    last_error = models.CharField(_("最後のエラー"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("受付日時"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)
    registered_at = models.DateTimeField(_("登録日時"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("削除日時"), null=True, blank=True)

    objects = CopyQuerySet.as_manager()

    class Meta:
        verbose_name = _("副本")
        verbose_name_plural = _("副本")
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["number_system", "event_id"], name="copy_event_unique"),
            models.UniqueConstraint(
                fields=["number_system", "data_set", "record_key"],
                condition=models.Q(withdrawn_at__isnull=True),
                name="copy_record_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["person", "status"], name="copy_person_status_idx"),
            models.Index(fields=["status", "updated_at"], name="copy_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.data_set} {self.record_key}"

    @property
    def is_due(self) -> bool:
        """What CopyQuerySet.due() selects, for one copy in hand."""
        return (
            self.delivered_revision < self.revision and self.status != self.Status.WAITING_FOR_CODE
        )


class Inquiry(models.Model):
    """情報照会: a business system's inquiry to another institution about one of its persons,
    relayed to the intermediate server by integrated number (SPEC 11). An inquiry about a
    person whose code is not yet acquired waits (`waiting_for_code`) and goes out by itself
    once it is; it is asked once, and its answer is kept here for the asking system."""

    class Status(models.TextChoices):
        WAITING_FOR_CODE = "waiting_for_code", _("符号未取得")
        SENT = "sent", _("照会中")
        ANSWERED = "answered", _("回答あり")
        REFUSED = "refused", _("照会不可")
        ERROR = "error", _("エラー")

    inquiry_id = models.UUIDField(_("照会ID"), default=uuid.uuid4, unique=True, editable=False)
    client = models.ForeignKey(
        BackboneClient,
        on_delete=models.PROTECT,
        related_name="inquiries",
        verbose_name=_("業務システム"),
    )
    number_system = models.CharField(_("番号体系"), max_length=2)
    event_id = models.CharField(_("イベントID"), max_length=100)
    body_digest = models.CharField(_("本文のダイジェスト"), max_length=64)
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="inquiries", verbose_name=_("統合宛名")
    )
    address_number = models.CharField(_("宛名番号"), max_length=20)
    procedure = models.CharField(_("事務"), max_length=64)
    data_set = models.CharField(_("特定個人情報"), max_length=64)
    provider = models.CharField(_("照会先"), max_length=6)
    status = models.CharField(_("状態"), max_length=16, choices=Status.choices)
    records = models.JSONField(_("回答"), default=list)
    reason = models.CharField(_("理由"), max_length=300, blank=True)
    attempts = models.PositiveIntegerField(_("送信回数"), default=0)
    created_at = models.DateTimeField(_("受付日時"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)
    answered_at = models.DateTimeField(_("回答日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("情報照会")
        verbose_name_plural = _("情報照会")
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["number_system", "event_id"], name="inquiry_event_unique"
            )
        ]
        indexes = [
            models.Index(fields=["person", "status"], name="inquiry_person_status_idx"),
            models.Index(fields=["status", "updated_at"], name="inquiry_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.procedure} {self.data_set} -> {self.provider}"


class PersonMerge(models.Model):
    """名寄せの記録 (SPEC 10.4): `merged` was merged into `representative`, automatically
    (cause individual_number) or by a supervisor; `links` are the merged person's own links at
    that time. An unmerge closes the record (unmerged_at) and restores exactly those links."""

    class Cause(models.TextChoices):
        INDIVIDUAL_NUMBER = "individual_number", _("個人番号の一致（自動）")
        MANUAL = "manual", _("職員による名寄せ")

    representative = models.ForeignKey(
        Person,
        on_delete=models.PROTECT,
        related_name="merges_as_representative",
        verbose_name=_("代表宛名"),
    )
    merged = models.ForeignKey(
        Person,
        on_delete=models.PROTECT,
        related_name="merges_as_merged",
        verbose_name=_("名寄せされた宛名"),
    )
    cause = models.CharField(_("原因"), max_length=20, choices=Cause.choices)
    reason = models.CharField(_("理由"), max_length=200, blank=True)
    links = models.JSONField(_("名寄せ時の宛名番号"), default=list)
    # Persons merged into `merged` before, re-pointed to the representative with it and
    # given back to it on the unmerge (integrated numbers).
    followers = models.JSONField(_("同時に移った宛名"), default=list)
    # The merged person's current version at the merge: it stops being current (so every
    # query of current persons leaves the merged person out at no cost) and is current again
    # after the unmerge.
    merged_current_version = models.ForeignKey(
        "AddressVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("名寄せ時の現在の版"),
    )
    merged_at = models.DateTimeField(_("名寄せ日時"), auto_now_add=True)
    merged_by = models.CharField(_("名寄せした者"), max_length=150, blank=True)
    confirmed_at = models.DateTimeField(_("確認日時"), null=True, blank=True)
    confirmed_by = models.CharField(_("確認した者"), max_length=150, blank=True)
    unmerged_at = models.DateTimeField(_("解除日時"), null=True, blank=True)
    unmerged_by = models.CharField(_("解除した者"), max_length=150, blank=True)
    unmerge_reason = models.CharField(_("解除理由"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("名寄せの記録")
        verbose_name_plural = _("名寄せの記録")
        ordering = ["-merged_at", "-pk"]
        constraints = [
            # A person is merged into at most one representative at a time.
            models.UniqueConstraint(
                fields=["merged"],
                condition=models.Q(unmerged_at__isnull=True),
                name="merge_open_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.merged_id}->{self.representative_id}"

    @property
    def automatic(self) -> bool:
        return self.cause == self.Cause.INDIVIDUAL_NUMBER


class ReviewItem(models.Model):
    """名寄せ候補一覧 (SPEC 10.3-10.4): a pair of persons a clerk should look at."""

    class Kind(models.TextChoices):
        POSSIBLE_DUPLICATE = "possible_duplicate", _("同一人の可能性")
        AUTOMATIC_MERGE = "automatic_merge", _("自動名寄せの確認")
        DUPLICATE_ADDRESS_NUMBER = "duplicate_address_number", _("同一番号体系の宛名番号が複数")

    class State(models.TextChoices):
        NEW = "new", _("未着手")
        IN_REVIEW = "in_review", _("確認中")
        CLOSED = "closed", _("完了")

    class Outcome(models.TextChoices):
        MERGED = "merged", _("名寄せした")
        DIFFERENT = "different", _("別人")
        CONFIRMED = "confirmed", _("確認した")
        UNMERGED = "unmerged", _("名寄せを解除した")

    kind = models.CharField(_("種別"), max_length=30, choices=Kind.choices)
    state = models.CharField(_("状態"), max_length=10, choices=State.choices, default=State.NEW)
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="review_items", verbose_name=_("宛名")
    )
    other = models.ForeignKey(
        Person,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("相手の宛名"),
    )
    number_system = models.CharField(_("番号体系"), max_length=2, blank=True)
    score = models.PositiveSmallIntegerField(_("スコア"), null=True, blank=True)
    agreement = models.JSONField(_("項目ごとの一致"), default=dict, blank=True)
    merge = models.ForeignKey(
        PersonMerge,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="review_items",
        verbose_name=_("名寄せ"),
    )
    outcome = models.CharField(_("結果"), max_length=10, choices=Outcome.choices, blank=True)
    note = models.CharField(_("メモ"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)
    closed_by = models.CharField(_("完了した者"), max_length=150, blank=True)

    class Meta:
        verbose_name = _("名寄せ候補")
        verbose_name_plural = _("名寄せ候補")
        ordering = ["state", "-created_at", "-pk"]
        indexes = [models.Index(fields=["state", "kind"], name="review_state_idx")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.person_id}/{self.other_id}"


class ScreeningDue(models.Model):
    """A new person without an individual number, to be screened for duplicates again once
    its transaction has committed (linkage.services.screening). The write path screens it
    against the persons committed before it; another new person of the same batch, or of a
    transaction running beside it, was not there to be found."""

    person = models.OneToOneField(
        Person, on_delete=models.CASCADE, related_name="+", verbose_name=_("宛名")
    )
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("名寄せの再照合待ち")
        verbose_name_plural = _("名寄せの再照合待ち")

    def __str__(self) -> str:
        return f"screening due: {self.person_id}"


class BusinessLabel(models.Model):
    """The label a clerk reads for a business data type or item key (業務項目の表示名),
    added or overriding the shipped dictionary (linkage/data/business_labels.json)."""

    class Kind(models.TextChoices):
        DATA_TYPE = "data_type", _("業務情報の種類")
        ITEM = "item", _("業務項目")

    kind = models.CharField(_("区分"), max_length=10, choices=Kind.choices)
    key = models.CharField(
        _("キー"),
        max_length=64,
        validators=[
            RegexValidator(
                r"^[a-z][a-z0-9_]*$", _("英小文字・数字・下線で、英字で始めてください。")
            )
        ],
        help_text=_("業務システムが送るキー（例: household_number）"),
    )
    label = models.CharField(_("表示名"), max_length=60)
    label_en = models.CharField(_("表示名（英語）"), max_length=60, blank=True)

    class Meta:
        verbose_name = _("業務項目の表示名")
        verbose_name_plural = _("業務項目の表示名")
        ordering = ["kind", "key"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "key"], name="business_label_unique")
        ]

    def __str__(self) -> str:
        return f"{self.key}: {self.label}"


class MatchingWeights(models.Model):
    """An estimate of the matching's m and u per field and level (SPEC 10.3), made by
    `manage.py matching_weights` from this installation's persons; the newest is used."""

    weights = models.JSONField(_("重み"))
    method = models.CharField(_("推定方法"), max_length=40)
    pairs = models.PositiveIntegerField(_("推定に使った組数"))
    estimated_at = models.DateTimeField(_("推定日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("照合の重み")
        verbose_name_plural = _("照合の重み")

    def __str__(self) -> str:
        return f"{self.method} {self.estimated_at:%Y-%m-%d}"


class AccessAction(models.TextChoices):
    """What an access record records (特定個人情報の利用の記録)."""

    SEARCH = "search", _("検索")
    PERSON_VIEW = "person_view", _("宛名の閲覧")
    REVEAL = "reveal", _("個人番号の表示")
    EXPORT = "export", _("一覧の出力")
    CORRECTION = "correction", _("訂正")
    RETRY = "retry", _("符号取得の再依頼")
    API_READ = "api_read", _("APIによる参照")
    SIGN_IN_FAILED = "sign_in_failed", _("サインインの失敗")
    API_AUTH_FAILED = "api_auth_failed", _("API認証の失敗")
    PURGE = "purge", _("保存期間経過による個人番号の削除")
    CANDIDATE_SEARCH = "candidate_search", _("名寄せ候補照会")
    MERGE = "merge", _("名寄せ")
    UNMERGE = "unmerge", _("名寄せ解除")
    REVIEW = "review", _("名寄せ候補の処理")
    OAUTH_TOKEN = "oauth_token", _("アクセストークンの発行")


class AccessOutcome(models.TextChoices):
    OK = "ok", _("成功")
    DENIED = "denied", _("権限なし")
    INVALID = "invalid", _("入力誤り")
    NOT_FOUND = "not_found", _("該当なし")


class AppendOnly(Exception):
    """Access records are never changed or deleted."""


class AccessRecordQuerySet(models.QuerySet["AccessRecord"]):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnly("access records cannot be changed")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnly("access records cannot be deleted")


class AccessRecord(models.Model):
    """アクセス記録: who read or changed which persons' data, when, from where, with what result.

    Append-only and hash-chained: each row carries the keyed digest of the row before it
    (`previous_hash`) and its own (`row_hash`), so an edit, a deletion or an insertion
    breaks the chain (`manage.py verify_audit_log`). `previous_hash` is unique, so two
    writers can never both extend the same row. Never holds an individual number: a search
    by one records only that one was given.
    """

    occurred_at = models.DateTimeField(_("日時"), db_index=True)
    action = models.CharField(_("操作"), max_length=20, choices=AccessAction.choices)
    outcome = models.CharField(_("結果"), max_length=10, choices=AccessOutcome.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("職員"),
    )
    username = models.CharField(_("ユーザー名"), max_length=150, blank=True)
    client = models.ForeignKey(
        BackboneClient,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("基幹系システム"),
    )
    source_address = models.GenericIPAddressField(_("接続元"), null=True, blank=True)
    path = models.CharField(_("パス"), max_length=200, blank=True)
    criteria = models.JSONField(_("条件"), default=dict, blank=True)
    integrated_numbers = models.JSONField(_("統合宛名番号"), default=list, blank=True)
    result_count = models.PositiveIntegerField(_("件数"), null=True, blank=True)
    previous_hash = models.CharField(
        _("前の記録のハッシュ"), max_length=64, unique=True, editable=False
    )
    row_hash = models.CharField(_("この記録のハッシュ"), max_length=64, unique=True, editable=False)

    objects = AccessRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("アクセス記録")
        verbose_name_plural = _("アクセス記録")
        ordering = ["-pk"]
        indexes = [models.Index(fields=["action", "occurred_at"], name="access_action_idx")]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.action} {self.username}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnly("access records cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnly("access records cannot be deleted")


class AuditChainVerification(models.Model):
    """アクセス記録の検証: each verification of the access records' hash chain (daily, by beat,
    and by `verify_audit_log`), so the dashboard can say when the chain last held and warn
    when it did not."""

    verified_at = models.DateTimeField(_("検証日時"), auto_now_add=True, db_index=True)
    records = models.PositiveIntegerField(_("件数"))
    last_hash = models.CharField(_("最後のハッシュ"), max_length=64)
    holds = models.BooleanField(_("連鎖の整合"))
    broken_record_id = models.BigIntegerField(_("不整合の記録"), null=True, blank=True)
    reason = models.CharField(_("理由"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("アクセス記録の検証")
        verbose_name_plural = _("アクセス記録の検証")
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"{self.verified_at:%Y-%m-%d %H:%M} {'ok' if self.holds else 'broken'}"


class InitialLoad(models.Model):
    """初期移行: an `import_address_changes --initial-load` run into an empty database, with
    what it deferred (secondary indexes, foreign keys, history triggers) until the end, so an
    interrupted load is resumed and finished by running the command again."""

    file_name = models.CharField(_("ファイル"), max_length=300)
    started_at = models.DateTimeField(_("開始日時"), auto_now_add=True)
    # {"indexes": [[table, name, definition]], "constraints": [[table, name, definition]],
    #  "triggers": [[table, name]], "history_written": [table]}
    deferred = models.JSONField(_("延期した索引・制約"), default=dict, editable=False)
    loaded_at = models.DateTimeField(_("取込完了日時"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完了日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("初期移行")
        verbose_name_plural = _("初期移行")
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"{self.file_name} ({'finished' if self.finished_at else 'unfinished'})"
