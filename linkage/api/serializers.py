"""Shapes of the backbone-facing API (SPEC section 7). Validation and shaping only."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from rest_framework import exceptions, serializers

from primitives.numbers import is_valid_lg_code
from primitives.vocabulary import SEX_CODES, RecordStatus

from ..masking import field_name_shown, is_number_shaped
from ..selectors import code_request_status_of
from ..services.address_changes import AddressChange, address_change_of
from .fields import (
    BusinessItemsField,
    CodeField,
    DigitsField,
    IndividualNumberField,
    IntegratedNumberField,
    KatakanaField,
    NameField,
    OffsetDateTimeField,
    ReadableField,
    SexField,
    StrictCharField,
    StrictDateField,
)

DATA_TYPE_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,31}")
UNKNOWN_NUMBER_SYSTEM = "is not a number system configured on this server"
# An unknown field is named only when its name is a plain identifier (linkage.masking).
UNKNOWN_FIELD = "is not a field of this object"


class ClosedSerializer(serializers.Serializer):
    """Refuses fields it does not know, so a misspelt optional field is not silently dropped."""

    def to_internal_value(self, data: Any) -> Any:
        unknown = set(data) - set(self.fields) if isinstance(data, dict) else set()
        unknown_errors = {
            name: [serializers.ErrorDetail(UNKNOWN_FIELD, code="unknown_field")]
            for name in sorted({field_name_shown(name) for name in unknown})
        }
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as error:
            assert isinstance(error.detail, dict)  # noqa: S101 (Serializer errors are a dict)
            raise serializers.ValidationError({**error.detail, **unknown_errors}) from None
        if unknown_errors:
            raise serializers.ValidationError(unknown_errors)
        return value


class PersonInputSerializer(ClosedSerializer):
    name = NameField(
        min_length=1,
        max_length=100,
        help_text="氏名; each run of half- or full-width spaces is stored as one full-width "
        "space, none at either end. No control or invisible format characters; private-use "
        "外字 allowed.",
    )
    name_kana = KatakanaField(
        max_length=100,
        required=False,
        allow_blank=True,
        help_text="氏名カナ: katakana, full- or half-width (stored full-width), spaces as in name.",
    )
    birth_date = StrictDateField(
        allow_future=False,
        help_text="生年月日, YYYY-MM-DD: a real date, not in the future (Japan time), "
        "not before 1868-01-01.",
    )
    sex = SexField(help_text="性別, ISO 5218: 0 unknown, 1 male, 2 female, 9 not applicable.")
    address = ReadableField(min_length=1, max_length=200, help_text="住所, no control characters.")

    def validate_sex(self, value: str) -> str:
        if value not in SEX_CODES:
            raise serializers.ValidationError(
                "must be an ISO 5218 code: 0 unknown, 1 male, 2 female, 9 not applicable",
                code="invalid_choice",
            )
        return value


class BusinessInputSerializer(ClosedSerializer):
    data_type = StrictCharField(
        max_length=32,
        help_text="The data type of the items, [a-z][a-z0-9_]{0,31} (household, income, nhi, "
        "welfare in the sandbox).",
    )
    confirmed_at = OffsetDateTimeField(
        required=False, help_text="When the business system confirmed the items (確定時点)."
    )
    items = BusinessItemsField(
        required=False,
        help_text="At most 50 items: keys of 1-64 characters, values strings of at most 1000 "
        "characters or finite numbers within ±2^53.",
    )

    def validate_data_type(self, value: str) -> str:
        if not DATA_TYPE_PATTERN.fullmatch(value):
            raise serializers.ValidationError(
                "must be lower-case letters, digits and underscores, starting with a letter",
                code="invalid",
            )
        return value


class ResolutionInputSerializer(ClosedSerializer):
    """The sender's decision after a candidate search (SPEC 7.1)."""

    mode = CodeField(
        choices=["new", "link"],
        help_text="new: a new integrated number even if candidates exist; link: this address "
        "number belongs to the person named by integrated_number.",
    )
    integrated_number = IntegratedNumberField(
        required=False, help_text="The candidate's integrated number (mode link only)."
    )

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if data["mode"] == "link" and not data.get("integrated_number"):
            raise serializers.ValidationError(
                {
                    "integrated_number": serializers.ErrorDetail(
                        "is required when mode is link", code="required"
                    )
                }
            )
        if data["mode"] == "new" and data.get("integrated_number"):
            raise serializers.ValidationError(
                {
                    "integrated_number": serializers.ErrorDetail(
                        "must be left out when mode is new", code="not_allowed"
                    )
                }
            )
        return data


class AddressChangeInputSerializer(ClosedSerializer):
    event_id = StrictCharField(
        min_length=1,
        max_length=64,
        trim_whitespace=False,
        help_text="The sender's id of this change: the same id with the same body is answered "
        "as the first time (idempotency), with another body it is 409 event_id_reused.",
    )
    number_system = DigitsField(
        min_digits=2,
        max_digits=2,
        help_text="番号体系 of the sending business system; must be the key's own (else 403).",
    )
    address_number = DigitsField(
        min_digits=1, max_digits=15, help_text="宛名番号: the person's number in that system."
    )
    # Optional (SPEC 7.1): absent or null for a person the sender knows only by its own
    # address number; an empty string is still refused.
    individual_number = IndividualNumberField(
        required=False,
        allow_null=True,
        help_text="個人番号, 12 digits with a valid check digit (SPEC 4.1); absent or null for a "
        "person the sender knows only by its address number (住登外者). Never echoed in any "
        "answer or error.",
    )
    changed_at = OffsetDateTimeField(
        help_text="When the change happened: ISO 8601 with an offset, from 1868-01-01 (Japan "
        "time) to one day after now."
    )
    person = PersonInputSerializer()
    business = BusinessInputSerializer(required=False)
    record_status = CodeField(
        choices=RecordStatus.values,
        required=False,
        help_text="active (the default) or ended: the system no longer handles the person.",
    )
    resolution = ResolutionInputSerializer(required=False)

    def validate_number_system(self, value: str) -> str:
        if value not in settings.NUMBER_SYSTEMS:
            raise serializers.ValidationError(UNKNOWN_NUMBER_SYSTEM, code="unknown_number_system")
        # A key may only submit its own number system; this is answered before other errors.
        own = self.context["client"].number_system
        if value != own:
            raise exceptions.PermissionDenied(
                f"this key may only send number system {own}", code="number_system_not_allowed"
            )
        return value

    def to_address_change(self) -> AddressChange:
        return address_change_of(self.validated_data, sent=self.initial_data)


class AddressChangeOutputSerializer(serializers.Serializer):
    result = serializers.ChoiceField(
        choices=["registered", "updated", "unchanged"],
        help_text="registered (201): a new integrated number; updated (200): a new version of a "
        "known person; unchanged (200): nothing new, no version stored (SPEC 7.1).",
    )
    integrated_number = serializers.CharField(
        help_text="統合宛名番号, 15 digits, the last a mod-11 check digit (SPEC 4.3)."
    )
    number_system = serializers.CharField()
    address_number = serializers.CharField()
    history_seq = serializers.IntegerField(help_text="The person's version number (履歴SEQ).")
    code_request_status = serializers.ChoiceField(
        choices=["not_requested", "requesting", "requested", "error"],
        help_text="The person's code request (符号取得): not_requested for a person without an "
        "individual number.",
    )
    possible_duplicates = serializers.IntegerField(
        required=False,
        help_text="a new person without an individual number: how many candidates above the "
        "review threshold it has (a review item was opened for the clerks)",
    )


class LinkSerializer(serializers.Serializer):
    number_system = serializers.CharField()
    address_number = serializers.CharField()


class CurrentVersionSerializer(serializers.Serializer):
    """The basic items of a person's current version, as every person answer carries them."""

    name = serializers.CharField()
    name_kana = serializers.CharField()
    birth_date = serializers.DateField()
    sex = serializers.CharField()
    address = serializers.CharField()
    history_seq = serializers.IntegerField()
    registered_at = serializers.DateTimeField()


class PersonOutputSerializer(CurrentVersionSerializer):
    integrated_number = serializers.CharField()
    code_request_status = serializers.CharField()
    # Whether linkage holds the person's individual number (never the number itself): false
    # once it was purged after the retention period (SPEC 7.1).
    has_individual_number = serializers.BooleanField()
    links = LinkSerializer(many=True)
    # The persons merged into this one (SPEC 10.4): a caller holding one of their numbers
    # is answered this record.
    merged_integrated_numbers = serializers.ListField(child=serializers.CharField())


class CodeRequestOutputSerializer(serializers.Serializer):
    integrated_number = serializers.CharField(source="person.integrated_number")
    status = serializers.CharField()
    stage = serializers.CharField()
    generation = serializers.IntegerField()
    attempts = serializers.IntegerField()
    last_error = serializers.CharField()
    processing_serial_number = serializers.CharField()
    reception_number = serializers.CharField()
    status_changed_at = serializers.DateTimeField()


class ProblemErrorSerializer(serializers.Serializer):
    field = serializers.CharField()
    code = serializers.CharField()
    message = serializers.CharField()


class ProblemSerializer(serializers.Serializer):
    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    # Shadows Serializer.errors on the class only; this serializer documents, never validates.
    errors = ProblemErrorSerializer(many=True)  # type: ignore[assignment]


class PersonSummarySerializer(CurrentVersionSerializer):
    """A person in a staff list: its current version (search, moved residents)."""

    integrated_number = serializers.CharField(source="person.integrated_number")
    code_request_status = serializers.SerializerMethodField()

    def get_code_request_status(self, version: Any) -> str:
        return code_request_status_of(version.person)


class MovedResidentSerializer(PersonSummarySerializer):
    changed_in_period = serializers.DateTimeField(
        help_text="the time of the person's newest version registered in the period"
    )


class MovedResidentsQuerySerializer(serializers.Serializer):
    """`from` and `to`: the period, both days included (Asia/Tokyo), at most MAX_DAYS long."""

    MAX_DAYS = 366

    def get_fields(self) -> dict[str, serializers.Field]:
        # `from` is a Python keyword, so the fields are named here, not as attributes.
        return {
            "from": StrictDateField(source="date_from"),
            "to": StrictDateField(source="date_to"),
        }

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if data["date_to"] < data["date_from"]:
            raise serializers.ValidationError(
                {"to": serializers.ErrorDetail("must not be before from", code="invalid")}
            )
        if (data["date_to"] - data["date_from"]).days >= self.MAX_DAYS:
            raise serializers.ValidationError(
                {
                    "to": serializers.ErrorDetail(
                        f"the period may be at most {self.MAX_DAYS} days", code="too_long"
                    )
                }
            )
        return data


class IndividualNumberLookupSerializer(serializers.Serializer):
    individual_number = IndividualNumberField()


MATCH_MODES = ["exact", "partial"]


class CandidatePersonSerializer(ClosedSerializer):
    """What is known of the person sought (SPEC 10.2): name or kana, the rest optional."""

    name = NameField(max_length=100, required=False, allow_blank=True)
    name_kana = KatakanaField(max_length=100, required=False, allow_blank=True)
    birth_date = StrictDateField(allow_future=False, required=False)
    sex = CodeField(choices=sorted(SEX_CODES), required=False)
    address = ReadableField(max_length=200, required=False, allow_blank=True)

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if not data.get("name") and not data.get("name_kana"):
            raise serializers.ValidationError(
                {"name": serializers.ErrorDetail("name or name_kana is required", code="required")}
            )
        return data


class CandidateMatchSerializer(ClosedSerializer):
    """Per field: `exact` (equal once normalised) or `partial` (contains); default: the
    linkage's matching (SPEC 10.3)."""

    name = CodeField(choices=MATCH_MODES, required=False)
    name_kana = CodeField(choices=MATCH_MODES, required=False)
    birth_date = CodeField(choices=["exact"], required=False)
    sex = CodeField(choices=["exact"], required=False)
    address = CodeField(choices=MATCH_MODES, required=False)


class CandidateQuerySerializer(ClosedSerializer):
    person = CandidatePersonSerializer()
    match = CandidateMatchSerializer(required=False)


class CandidatePersonOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    name_kana = serializers.CharField()
    birth_date = serializers.DateField()
    sex = serializers.CharField()
    address = serializers.CharField()


class CandidateSerializer(serializers.Serializer):
    integrated_number = serializers.CharField()
    score = serializers.IntegerField(min_value=0, max_value=100)
    agreement = serializers.DictField(
        child=serializers.ChoiceField(
            choices=["exact", "normalised", "variant", "similar", "different", "missing"]
        ),
        help_text="per basic item, how the candidate's agrees with the one sent",
    )
    weights = serializers.DictField(
        child=serializers.FloatField(),
        help_text="per basic item, the Fellegi-Sunter weight (log2 m/u) its agreement added",
    )
    person = CandidatePersonOutputSerializer()
    has_individual_number = serializers.BooleanField()
    number_systems = serializers.ListField(child=serializers.CharField())


class CandidatesOutputSerializer(serializers.Serializer):
    candidates = CandidateSerializer(many=True)


class MergeInputSerializer(ClosedSerializer):
    merged_integrated_number = IntegratedNumberField()
    reason = StrictCharField(max_length=200, required=False, allow_blank=True)


class UnmergeInputSerializer(ClosedSerializer):
    reason = StrictCharField(max_length=200, required=False, allow_blank=True)


class MergeOutputSerializer(serializers.Serializer):
    integrated_number = serializers.CharField(source="representative.integrated_number")
    merged_integrated_number = serializers.CharField(source="merged.integrated_number")
    cause = serializers.CharField()
    reason = serializers.CharField()
    links = LinkSerializer(many=True)
    merged_at = serializers.DateTimeField()
    merged_by = serializers.CharField()
    unmerged_at = serializers.DateTimeField(allow_null=True)


class SystemPersonSerializer(ClosedSerializer):
    """A person as a business system names it: its number system (the key's own) and the
    person's address number there (SPEC 11's requests and reads)."""

    number_system = DigitsField(
        min_digits=2, max_digits=2, help_text="番号体系 of the calling system: the key's own."
    )
    address_number = DigitsField(
        min_digits=1, max_digits=15, help_text="宛名番号 of the person in that system."
    )

    validate_number_system = AddressChangeInputSerializer.validate_number_system


class ExchangeRequestSerializer(SystemPersonSerializer):
    """A copy or an inquiry (SPEC 11): the sender's event id, idempotent like address changes."""

    event_id = StrictCharField(
        min_length=1,
        max_length=64,
        trim_whitespace=False,
        help_text="The sender's id of this request: the same id with the same body is answered "
        "as the first time, with another body it is 409 event_id_reused.",
    )


# A copy goes to the intermediate server, which must never receive an individual number.
NUMBER_SHAPED_IN_COPY = serializers.ErrorDetail(
    "must not hold twelve digits that could be an individual number: copies go to the "
    "intermediate server, which knows persons by integrated number and code only",
    code="number_shaped",
)


class CopyContentSerializer(ClosedSerializer):
    """What `PUT /api/v1/copies/<copy_id>` replaces: the items and their validity."""

    items = BusinessItemsField(
        help_text="The copy's items, with the rules of business items: at most 50, keys of 1-64 "
        "characters, values strings of at most 1000 characters or finite numbers within ±2^53."
    )
    valid_from = StrictDateField(help_text="From when the record is valid, YYYY-MM-DD.")
    valid_to = StrictDateField(
        required=False, allow_null=True, help_text="Until when it is valid; absent: open."
    )

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if not data["items"]:
            raise serializers.ValidationError(
                {"items": serializers.ErrorDetail("must hold at least one item", code="required")}
            )
        if any(is_number_shaped(f"{key} {value}") for key, value in data["items"].items()):
            raise serializers.ValidationError({"items": NUMBER_SHAPED_IN_COPY})
        valid_to = data.get("valid_to")
        if valid_to is not None and valid_to < data["valid_from"]:
            raise serializers.ValidationError(
                {
                    "valid_to": serializers.ErrorDetail(
                        "must not be before valid_from", code="before_valid_from"
                    )
                }
            )
        return data


class CopyInputSerializer(ExchangeRequestSerializer, CopyContentSerializer):
    """`POST /api/v1/copies` (副本登録, SPEC 11)."""

    data_set = StrictCharField(
        max_length=64,
        help_text="The data set (特定個人情報) the record belongs to, from the configured list "
        "(EXCHANGE_DATA_SETS); the sending system must be one that registers it.",
    )
    record_key = StrictCharField(
        max_length=100,
        help_text="The sender's key of the record within the data set (e.g. fiscal year and "
        "assessment number); one live copy per key.",
    )

    def validate_record_key(self, value: str) -> str:
        if is_number_shaped(value):
            raise serializers.ValidationError(NUMBER_SHAPED_IN_COPY)
        return value


class CopyOutputSerializer(serializers.Serializer):
    copy_id = serializers.UUIDField(help_text="linkage's id of the copy, for PUT, GET, DELETE.")
    status = serializers.ChoiceField(
        choices=["waiting_for_code", "sent", "registered", "withdrawn", "error"],
        help_text="waiting_for_code: the person's code is not acquired yet (符号未取得), the copy "
        "goes out by itself once it is; sent: on its way to the intermediate server; "
        "registered: the intermediate server holds it; withdrawn; error: the intermediate "
        "server refused it (see error).",
    )
    revision = serializers.IntegerField(
        help_text="1 at registration, one more for each replacement and for the withdrawal."
    )
    number_system = serializers.CharField(help_text="番号体系 of the system that registered it.")
    address_number = serializers.CharField(help_text="宛名番号 of the person in that system.")
    integrated_number = serializers.CharField(
        help_text="統合宛名番号: how the intermediate server knows the person."
    )
    data_set = serializers.CharField(help_text="The data set (特定個人情報).")
    record_key = serializers.CharField(help_text="The sender's key of the record.")
    items = serializers.DictField(help_text="The copy's items.")
    valid_from = serializers.DateField(help_text="From when the record is valid.")
    valid_to = serializers.DateField(allow_null=True, help_text="Until when; null: open.")
    registered_at = serializers.DateTimeField(
        allow_null=True, help_text="When the intermediate server last took this copy."
    )
    withdrawn_at = serializers.DateTimeField(
        allow_null=True, help_text="When the copy was withdrawn, or null."
    )
    error = serializers.CharField(help_text="Why the intermediate server refused it, or empty.")


class InquiryInputSerializer(ExchangeRequestSerializer):
    """`POST /api/v1/inquiries` (情報照会, SPEC 11)."""

    procedure = StrictCharField(
        max_length=64,
        help_text="The 事務 that asks, from the configured list (EXCHANGE_PROCEDURES); the "
        "asking system must be one that does it.",
    )
    data_set = StrictCharField(max_length=64, help_text="The data set (特定個人情報) asked for.")
    provider = DigitsField(
        min_digits=6,
        max_digits=6,
        help_text="The institution asked (its 6-digit 地方公共団体コード with check digit).",
    )

    def validate_provider(self, value: str) -> str:
        if not is_valid_lg_code(value):
            raise serializers.ValidationError(
                "is not a local government code (its check digit does not match)",
                code="check_digit",
            )
        return value


class InquiryOutputSerializer(serializers.Serializer):
    inquiry_id = serializers.UUIDField(help_text="linkage's id of the inquiry, for GET.")
    status = serializers.ChoiceField(
        choices=["waiting_for_code", "sent", "answered", "refused", "error"],
        help_text="waiting_for_code: the person's code is not acquired yet (符号未取得), the "
        "inquiry goes out by itself once it is; sent: asked; answered: see records; refused: "
        "the network or the provider refused it (see reason); error: the intermediate server "
        "refused it.",
    )
    number_system = serializers.CharField(help_text="番号体系 of the asking system.")
    address_number = serializers.CharField(help_text="宛名番号 of the person in that system.")
    integrated_number = serializers.CharField(help_text="統合宛名番号 of the person.")
    procedure = serializers.CharField(help_text="The 事務 that asks.")
    data_set = serializers.CharField(help_text="The data set asked for.")
    provider = serializers.CharField(help_text="The institution asked.")
    records = serializers.ListField(
        child=serializers.DictField(),
        help_text="The provider's records when answered: record_key, items, valid_from, "
        "valid_to each.",
    )
    reason = serializers.CharField(help_text="Why it was refused, or empty.")
    answered_at = serializers.DateTimeField(allow_null=True, help_text="When it was answered.")


class ExchangeRecordsQuerySerializer(SystemPersonSerializer):
    """`GET /api/v1/exchange-records` (情報提供等記録)."""


class ExchangeRecordSerializer(serializers.Serializer):
    exchange_id = serializers.CharField(help_text="The inquiry's id.")
    role = serializers.ChoiceField(
        choices=["requester", "provider"],
        help_text="requester: this municipality asked; provider: it was asked.",
    )
    counterpart = serializers.CharField(help_text="The other institution's code.")
    procedure = serializers.CharField(help_text="The 事務 that asked.")
    data_set = serializers.CharField(help_text="The data set asked for.")
    outcome = serializers.ChoiceField(
        choices=["answered", "refused"], help_text="How the exchange ended."
    )
    reason = serializers.CharField(help_text="Why it was refused, or empty.")
    recorded_at = serializers.DateTimeField(help_text="When it was recorded.")


class ExchangeRecordsOutputSerializer(serializers.Serializer):
    records = ExchangeRecordSerializer(many=True, help_text="Newest first.")
