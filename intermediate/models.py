"""The simulated national side (SPEC section 2). Each simulator owns its tables and is reached
only over HTTP. Individual numbers are kept as blind index + AES-GCM token, as in linkage."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from primitives.faults import FaultControl
from primitives.sealed import EncryptedIndividualNumber, ForwardedPair, SweptWork


class SimulatorControl(FaultControl):
    """Fault injection for one simulated national peer (`manage.py simulator_control`)."""


class SerialNumberRequest(EncryptedIndividualNumber, SweptWork):
    """中間サーバー 3: a processing-serial-number request from a linkage server."""

    class Status(models.TextChoices):
        PENDING = "pending", _("通番依頼中")
        ISSUED = "issued", _("通番発行済")
        ACQUIRED = "acquired", _("符号取得済")
        ERROR = "error", _("エラー")

    lg_code = models.CharField(max_length=6)
    integrated_number = models.CharField(max_length=15)
    idempotency_key = models.CharField(max_length=100, unique=True)
    processing_serial_number = models.CharField(max_length=32, blank=True, db_index=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    error_reason = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["lg_code", "integrated_number"], name="serial_req_person_idx")
        ]

    def __str__(self) -> str:
        return f"{self.lg_code}:{self.integrated_number}"


class CodeAcquisitionFileRequest(models.Model):
    """中間サーバー 3: a code acquisition request file, answered with a reception number."""

    lg_code = models.CharField(max_length=6)
    reception_number = models.CharField(max_length=20, unique=True)
    idempotency_key = models.CharField(max_length=100, unique=True)
    integrated_numbers = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    # When the requesting linkage said it had sent every entry on: from then on the file is
    # refused and its persons' individual numbers are no longer held here.
    released_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.reception_number


class CodeInformation(models.Model):
    """符号情報テーブル 46: integrated number <-> code, per local government."""

    lg_code = models.CharField(max_length=6)
    integrated_number = models.CharField(max_length=15)
    code = models.CharField(max_length=64)
    acquired_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["lg_code", "integrated_number"], name="code_info_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.lg_code}:{self.integrated_number}"


class NetworkSerial(SweptWork):
    """情報提供ネットワークシステム 4: an issued processing serial number and its outcome."""

    processing_serial_number = models.CharField(max_length=32, unique=True)
    request_key = models.CharField(max_length=100, unique=True)
    lg_code = models.CharField(max_length=6)
    integrated_number = models.CharField(max_length=15)
    issued_at = models.DateTimeField(auto_now_add=True)
    code = models.CharField(max_length=64, blank=True)
    # The person the national server named: how the network routes an inquiry from this
    # institution's code to another institution's code of the same person (SPEC 4.4, 11).
    resident_code = models.CharField(max_length=11, blank=True)
    error_reason = models.CharField(max_length=200, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(
        null=True, blank=True, help_text="when the intermediate server took the answer"
    )

    class Meta:
        indexes = [models.Index(fields=["lg_code", "code"], name="network_serial_code_idx")]

    def __str__(self) -> str:
        return self.processing_serial_number


class RegistryEntry(EncryptedIndividualNumber):
    """住基全国サーバー 5: individual number -> resident code (住民票コード)."""

    resident_code = models.CharField(max_length=11, unique=True, null=True, blank=True)
    enrolled_at = models.DateTimeField(auto_now_add=True)
    invalidated_at = models.DateTimeField(
        null=True, blank=True, help_text="the individual number was changed (e.g. after a leak)"
    )
    # Marked unknown on purpose (`national_registry unknown`): the sandbox's open registry
    # (NATIONAL_REGISTRY_OPEN) answers "not registered" for this number, as a real one would
    # for a number it does not hold.
    unknown = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["individual_number_index"], name="registry_number_unique"
            )
        ]

    def __str__(self) -> str:
        return self.resident_code or "(unknown)"


class NationalInquiry(EncryptedIndividualNumber, SweptWork):
    """住基全国サーバー 5: a (processing serial number, individual number) pair from the CS."""

    processing_serial_number = models.CharField(max_length=32, unique=True)
    received_at = models.DateTimeField(auto_now_add=True)
    resident_code = models.CharField(max_length=11, blank=True)
    error_reason = models.CharField(max_length=200, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(
        null=True, blank=True, help_text="when the network took the answer"
    )

    def __str__(self) -> str:
        return self.processing_serial_number


class CommunicationForward(ForwardedPair):
    """コミュニケーションサーバー 44: a pair to pass on to the national server."""


class GatewayEntry(ForwardedPair):
    """住基GWサーバー 244, information table 246: individual number <-> processing serial number."""


class CopyRecord(models.Model):
    """中間サーバー 3: a copy (副本) an institution registered for provision (DBM): one record of
    a data set of one person, known here by integrated number only. A copy is kept by the id
    its institution gave it; a later revision replaces it, a withdrawal ends it."""

    lg_code = models.CharField(max_length=6)
    copy_id = models.CharField(max_length=36)
    revision = models.PositiveIntegerField()
    integrated_number = models.CharField(max_length=15)
    data_set = models.CharField(max_length=64)
    record_key = models.CharField(max_length=100)
    items = models.JSONField()
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)
    registered_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lg_code", "copy_id"], name="copy_record_id_unique")
        ]
        indexes = [
            models.Index(
                fields=["lg_code", "integrated_number", "data_set"], name="copy_record_person_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.lg_code}:{self.copy_id}@{self.revision}"


class PermittedExchange(models.Model):
    """情報提供ネットワークシステム 4: one row of the table of permitted exchanges (番号法 別表 as
    data): an institution doing `procedure` (事務) may ask for `data_set` (特定個人情報)."""

    procedure = models.CharField(max_length=64)
    procedure_label = models.CharField(max_length=200)
    data_set = models.CharField(max_length=64)
    data_set_label = models.CharField(max_length=200)
    basis = models.CharField(max_length=200, help_text="the row of 番号法 別表 it comes from")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["procedure", "data_set"], name="permitted_unique")
        ]

    def __str__(self) -> str:
        return f"{self.procedure} -> {self.data_set}"


class InstitutionPerson(models.Model):
    """An institution's person as the network knows it, for the institutions the sandbox
    simulates whole (no linkage of theirs runs here): their code and resident code."""

    lg_code = models.CharField(max_length=6)
    code = models.CharField(max_length=64)
    resident_code = models.CharField(max_length=11)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lg_code", "code"], name="institution_person_unique")
        ]

    def __str__(self) -> str:
        return f"{self.lg_code}:{self.resident_code}"


class InquiryRecord(models.Model):
    """中間サーバー 3: an inquiry (情報照会, SKI) one institution sent, kept by the id its linkage
    gave it: asked once, and a repeat is answered from here."""

    class Outcome(models.TextChoices):
        ASKING = "asking", "asking"  # the network is being asked
        ANSWERED = "answered", "answered"
        REFUSED = "refused", "refused"

    lg_code = models.CharField(max_length=6)
    inquiry_id = models.CharField(max_length=36)
    integrated_number = models.CharField(max_length=15)
    procedure = models.CharField(max_length=64)
    data_set = models.CharField(max_length=64)
    provider = models.CharField(max_length=6)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    refusal_code = models.CharField(max_length=40, blank=True)
    refusal_detail = models.CharField(max_length=300, blank=True)
    records = models.JSONField(default=list)
    asked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lg_code", "inquiry_id"], name="inquiry_record_unique")
        ]

    def __str__(self) -> str:
        return f"{self.lg_code}:{self.inquiry_id}"


class ExchangeRecord(models.Model):
    """情報提供等記録 (TKM): one exchange as one institution records it, the requester's and the
    provider's side each; residents read theirs on マイナポータル."""

    class Role(models.TextChoices):
        REQUESTER = "requester", "requester"
        PROVIDER = "provider", "provider"

    lg_code = models.CharField(max_length=6)
    integrated_number = models.CharField(max_length=15)
    role = models.CharField(max_length=10, choices=Role.choices)
    counterpart = models.CharField(max_length=6)
    procedure = models.CharField(max_length=64)
    data_set = models.CharField(max_length=64)
    outcome = models.CharField(max_length=10)
    reason = models.CharField(max_length=300, blank=True)
    exchange_id = models.CharField(max_length=36)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["lg_code", "exchange_id", "role"], name="exchange_record_unique"
            )
        ]
        indexes = [
            models.Index(fields=["lg_code", "integrated_number"], name="exchange_person_idx")
        ]

    def __str__(self) -> str:
        return f"{self.lg_code}:{self.exchange_id}:{self.role}"
