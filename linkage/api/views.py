"""The backbone-facing REST API, version 1 (SPEC section 7). Thin views over services."""

from __future__ import annotations

import re
from functools import cache
from http import HTTPStatus
from typing import Any

from django.db.models import QuerySet
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.generics import ListAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from primitives.http import PeerUnavailable
from primitives.numbers import is_valid_integrated_number

from ..bulk.rows import RowValidator
from ..filters import CodeRequestFilter, PersonSearchFilter
from ..matching.search import Query, candidates_described, candidates_find
from ..models import (
    AccessAction,
    AccessOutcome,
    AddressVersion,
    BackboneClient,
    CodeRequest,
    Copy,
    Inquiry,
    Person,
    PersonMerge,
)
from ..paging import SEARCH_COUNT_CAP, CappedPaginator
from ..selectors import (
    ChangedResidents,
    changed_residents,
    code_requests_list,
    person_by_individual_number,
    person_current_for_number_system,
    persons_current,
)
from ..services.address_changes import AddressChangeError, event_id_conflict
from ..services.audit import GIVEN, access_record, criteria_of
from ..services.copies import (
    CopyContent,
    CopyResult,
    copy_register,
    copy_replace,
    copy_withdraw,
)
from ..services.exchanges import ExchangeRefused, exchange_person, integrated_number_of
from ..services.inquiries import InquiryContent, exchange_records_of, inquiry_make
from ..services.merges import MergeRefused, person_merge, person_unmerge
from ..services.pipeline import address_change_receive
from .authentication import IsBackboneClient, StaffPermission, StaffTokenAuthentication
from .exceptions import PROBLEM_CONTENT_TYPE, Conflict, PeerNotReachable, problem
from .serializers import (
    AddressChangeInputSerializer,
    AddressChangeOutputSerializer,
    CandidateQuerySerializer,
    CandidatesOutputSerializer,
    CodeRequestOutputSerializer,
    CopyContentSerializer,
    CopyInputSerializer,
    CopyOutputSerializer,
    ExchangeRecordsOutputSerializer,
    ExchangeRecordsQuerySerializer,
    IndividualNumberLookupSerializer,
    InquiryInputSerializer,
    InquiryOutputSerializer,
    MergeInputSerializer,
    MergeOutputSerializer,
    MovedResidentSerializer,
    MovedResidentsQuerySerializer,
    PersonOutputSerializer,
    PersonSummarySerializer,
    ProblemSerializer,
    UnmergeInputSerializer,
)

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

# One example answer per status, shaped by the API's own problem builder: field, code, message.
_PROBLEM_EXAMPLES: dict[int, tuple[str, str, str]] = {
    400: ("individual_number", "check_digit", "the check digit does not match (SPEC 4.1)"),
    401: ("", "not_authenticated", "Authentication credentials were not provided."),
    403: ("number_system", "number_system_not_allowed", "this key may only send number system 01"),
    404: ("", "not_found", "Not found."),
    409: ("event_id", event_id_conflict().code, event_id_conflict().message),
    413: ("", "body_too_large", "the request body is larger than 65536 bytes"),
    415: ("", "unsupported_media_type", 'Unsupported media type "text/plain" in request.'),
    429: ("", "throttled", "Request was throttled. Expected available in 12 seconds."),
}


def _problem(status: int) -> OpenApiResponse:
    field, code, message = _PROBLEM_EXAMPLES[status]
    return OpenApiResponse(
        ProblemSerializer,
        description=f"a problem (RFC 9457): {HTTPStatus(status).phrase}",
        examples=[
            OpenApiExample(
                code,
                value=problem(status, [{"field": field, "code": code, "message": message}]),
                response_only=True,
                status_codes=[str(status)],
            )
        ],
    )


def problems(*statuses: int) -> dict[Any, OpenApiResponse]:
    """Error answers as the API sends them: application/problem+json, each with an example."""
    return {(status, PROBLEM_CONTENT_TYPE): _problem(status) for status in statuses}


# What every staff endpoint may answer besides its result.
_STAFF_PROBLEMS = problems(400, 401, 403, 404, 429)  # 404: a page past the last


class BackboneApiView(APIView):
    permission_classes = [IsBackboneClient]
    oauth_scope: tuple[str, str]  # (resource, operation) an access token needs

    @property
    def client(self) -> BackboneClient:
        assert isinstance(self.request.user, BackboneClient)  # noqa: S101 (guaranteed by the permission)
        return self.request.user


# Error reports never show the number sent (linkage.error_reports cleanses it too).
_SENSITIVE = method_decorator(sensitive_post_parameters("individual_number"), name="dispatch")


@cache
def _short_road(number_system: str) -> RowValidator:
    """The bulk import's short road for bodies of plain good values, made once per number
    system: it gives what the serializer gives, in microseconds, and steps aside for anything
    else (the serializer then decides, and words every refusal)."""
    return RowValidator(number_system=number_system, kept_numbers=False)


@_SENSITIVE
class AddressChangeCreateApi(BackboneApiView):
    """宛名異動データの受信 (send/receive unit 35)."""

    oauth_scope = ("address-changes", "write")

    @extend_schema(
        operation_id="address_change_create",
        summary="Send an address change",
        request=AddressChangeInputSerializer,
        examples=[
            OpenApiExample(
                "jyuki_registers",
                summary="住基 registers a resident",
                request_only=True,
                value={
                    "event_id": "jyuki-2026-04-01-000123",
                    "number_system": "01",
                    "address_number": "1000000001",
                    "individual_number": "123456789018",
                    "changed_at": "2026-04-01T09:30:00+09:00",
                    "person": {
                        "name": "鈴木　花子",
                        "name_kana": "スズキ　ハナコ",
                        "birth_date": "1975-06-15",
                        "sex": "2",
                        "address": "神奈川県横浜市港北区日吉1-1-1",
                    },
                    "business": {
                        "data_type": "household",
                        "items": {"household_number": "700001", "relationship": "世帯主"},
                    },
                },
            ),
            OpenApiExample(
                "tax_without_number",
                summary="税 sends a resident it knows only by its own number (住登外者)",
                request_only=True,
                value={
                    "event_id": "tax-2026-04-01-000045",
                    "number_system": "02",
                    "address_number": "550001",
                    "changed_at": "2026-04-01T10:00:00+09:00",
                    "person": {
                        "name": "高田　誠",
                        "name_kana": "タカダ　マコト",
                        "birth_date": "1968-11-03",
                        "sex": "1",
                        "address": "東京都千代田区永田町1-7-1",
                    },
                    "resolution": {"mode": "new"},
                },
            ),
            OpenApiExample(
                "registered",
                response_only=True,
                status_codes=["201"],
                value={
                    "result": "registered",
                    "integrated_number": "000000000000019",
                    "number_system": "01",
                    "address_number": "1000000001",
                    "history_seq": 1,
                    "code_request_status": "requesting",
                },
            ),
        ],
        responses={
            201: OpenApiResponse(
                AddressChangeOutputSerializer,
                "a new integrated number was issued",
            ),
            200: OpenApiResponse(AddressChangeOutputSerializer, "a known person was updated"),
            **problems(400, 401, 403, 409, 413, 415, 429),
        },
    )
    def post(self, request: Request) -> Response:
        change = _short_road(self.client.number_system).quick(request.data)
        if change is None:
            serializer = AddressChangeInputSerializer(
                data=request.data, context={"client": self.client}
            )
            serializer.is_valid(raise_exception=True)
            change = serializer.to_address_change()
        try:
            result = address_change_receive(client=self.client, change=change)
        except AddressChangeError as error:
            if error.status == 400:
                raise serializers.ValidationError(
                    {error.field: serializers.ErrorDetail(error.message, code=error.code)}
                ) from None
            raise Conflict(field=error.field, code=error.code, message=error.message) from None
        return Response(result.body, status=201 if result.registered else 200)


class CandidateSearchApi(BackboneApiView):
    """名寄せ候補照会 (SPEC 10.2; the standard's 住登外者宛名基本情報照会): before numbering a
    person without an individual number, the persons it may be, best first, at most 20, each
    score explained field by field. Every search is an access record."""

    oauth_scope = ("candidates", "read")

    @extend_schema(
        operation_id="candidates_search",
        summary="Search the candidates for a person without an individual number",
        request=CandidateQuerySerializer,
        responses={200: CandidatesOutputSerializer, **problems(400, 401, 413, 415, 429)},
    )
    def post(self, request: Request) -> Response:
        query = CandidateQuerySerializer(data=request.data)
        query.is_valid(raise_exception=True)
        person = query.validated_data["person"]
        match = query.validated_data.get("match") or {}
        candidates = candidates_find(Query(**person), limit=20, match=match)
        data = {"candidates": candidates_described(candidates)}
        access_record(
            action=AccessAction.CANDIDATE_SEARCH,
            outcome=AccessOutcome.OK,
            request=request,
            criteria={
                **criteria_of(person),
                **{f"match.{name}": mode for name, mode in sorted(match.items())},
            },
            integrated_numbers=[c["integrated_number"] for c in data["candidates"]],
        )
        return Response(CandidatesOutputSerializer(data).data)


class PersonDetailApi(BackboneApiView):
    """A person as a backbone system sees it: only persons linked to its number system."""

    oauth_scope = ("persons", "read")

    @extend_schema(
        operation_id="person_retrieve",
        summary="Read a person by integrated number",
        responses={200: PersonOutputSerializer, **problems(400, 401, 404, 429)},
    )
    def get(self, request: Request, integrated_number: str) -> Response:
        _integrated_number_checked(integrated_number)
        current = person_current_for_number_system(
            integrated_number=integrated_number, number_system=self.client.number_system
        )
        if current is None:
            _read_recorded(
                request, integrated_numbers=[integrated_number], outcome=AccessOutcome.NOT_FOUND
            )
            raise exceptions.NotFound(
                "no person with this integrated number is linked to your number system",
                code="not_found",
            )
        version = current.version
        data = {
            "integrated_number": current.person.integrated_number,
            "name": version.name,
            "name_kana": version.name_kana,
            "birth_date": version.birth_date,
            "sex": version.sex,
            "address": version.address,
            "history_seq": version.history_seq,
            "registered_at": version.registered_at,
            "code_request_status": current.code_request_status,
            "has_individual_number": current.person.has_individual_number,
            "links": current.links,
            "merged_integrated_numbers": current.merged,
        }
        _read_recorded(request, integrated_numbers=[integrated_number])
        return Response(PersonOutputSerializer(data).data)


class StaffPagination(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class SearchPagination(StaffPagination):
    """A search's count stops at SEARCH_COUNT_CAP + 1 (linkage.paging); `count_capped` says
    there are more matches than that."""

    django_paginator_class = CappedPaginator

    def get_paginated_response(self, data: Any) -> Response:
        response = super().get_paginated_response(data)
        response.data["count_capped"] = self.page.paginator.capped  # type: ignore[union-attr]
        return response

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        paginated = super().get_paginated_response_schema(schema)
        paginated["properties"]["count_capped"] = {
            "type": "boolean",
            "description": f"true when more than {SEARCH_COUNT_CAP} persons match; "
            "count is then the cap plus one",
        }
        paginated["required"] = [*paginated.get("required", []), "count_capped"]
        return paginated


def _read_recorded(
    request: Request,
    *,
    integrated_numbers: list[str],
    outcome: str = AccessOutcome.OK,
    criteria: dict[str, Any] | None = None,
    result_count: int | None = None,
) -> None:
    access_record(
        action=AccessAction.API_READ,
        outcome=outcome,
        request=request,
        criteria=criteria,
        integrated_numbers=integrated_numbers,
        result_count=len(integrated_numbers) if result_count is None else result_count,
    )


class AuditedListMixin:
    """A staff list whose every answered page goes to the access audit (API read)."""

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response: Response = super().list(request, *args, **kwargs)  # type: ignore[misc]
        data = response.data or {}
        _read_recorded(
            request,
            integrated_numbers=[row["integrated_number"] for row in data.get("results", [])],
            criteria=criteria_of(request.query_params.dict()),
            result_count=data.get("count"),
        )
        return response


class StaffApiView(APIView):
    """Staff endpoints: a staff token (Bearer) or the signed-in session, and a permission."""

    authentication_classes = [StaffTokenAuthentication, SessionAuthentication]
    permission_classes = [StaffPermission]
    required_permission = ""


class CodeRequestListApi(AuditedListMixin, StaffApiView, ListAPIView):
    """The code requests for staff; `?status=error` is the error list (confirmation unit 42)."""

    required_permission = "linkage.view_coderequest"
    serializer_class = CodeRequestOutputSerializer
    pagination_class = StaffPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = CodeRequestFilter

    def get_queryset(self) -> QuerySet[CodeRequest]:
        return code_requests_list()

    @extend_schema(
        operation_id="code_requests_list",
        summary="List the code requests (staff)",
        responses={200: CodeRequestOutputSerializer(many=True), **_STAFF_PROBLEMS},
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)


class PersonSearchApi(AuditedListMixin, StaffApiView, ListAPIView):
    """Online function 40's search, as on the clerk screen (the same filters and selector).

    Name, kana and address match partially, whatever the width, kana type, small kana or
    spaces. At least one criterion is required. The individual number is looked up by POST
    to `persons/lookup`, so it never appears in a URL.
    """

    required_permission = "linkage.view_person"
    serializer_class = PersonSummarySerializer
    pagination_class = SearchPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = PersonSearchFilter

    def get_queryset(self) -> QuerySet[AddressVersion]:
        return persons_current()

    @extend_schema(
        operation_id="person_search",
        summary="Search persons (staff)",
        responses={200: PersonSummarySerializer(many=True), **_STAFF_PROBLEMS},
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)


@_SENSITIVE
class PersonLookupApi(StaffApiView):
    """The person with an individual number (exact, through the blind index)."""

    required_permission = "linkage.view_person"

    @extend_schema(
        operation_id="person_lookup",
        summary="Find the person with an individual number (staff)",
        request=IndividualNumberLookupSerializer,
        responses={200: PersonSummarySerializer, **_STAFF_PROBLEMS},
    )
    def post(self, request: Request) -> Response:
        serializer = IndividualNumberLookupSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        person = person_by_individual_number(serializer.validated_data["individual_number"])
        version = persons_current().filter(person=person).first() if person is not None else None
        given = {"individual_number": GIVEN}
        if version is None:
            _read_recorded(
                request, integrated_numbers=[], outcome=AccessOutcome.NOT_FOUND, criteria=given
            )
            raise exceptions.NotFound("no person has this individual number", code="not_found")
        _read_recorded(
            request, integrated_numbers=[version.person.integrated_number], criteria=given
        )
        return Response(PersonSummarySerializer(version).data)


class MovedResidentListApi(AuditedListMixin, StaffApiView, ListAPIView):
    """List creation (41): persons with a version registered in the period, as on screen."""

    required_permission = "linkage.export_person"
    serializer_class = MovedResidentSerializer
    pagination_class = StaffPagination

    def get_queryset(self) -> ChangedResidents:  # type: ignore[override]
        # Not a queryset: a list the paginator reads by slices (its rows in two steps).
        query = MovedResidentsQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return changed_residents(**query.validated_data)

    @extend_schema(
        operation_id="moved_residents_list",
        summary="List the persons changed in a period (staff)",
        parameters=[MovedResidentsQuerySerializer],
        responses={200: MovedResidentSerializer(many=True), **_STAFF_PROBLEMS},
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)


def _integrated_number_checked(integrated_number: str, field: str = "integrated_number") -> None:
    """An integrated number in a URL path: 400 naming `field` unless it is valid (SPEC 4.3)."""
    if not is_valid_integrated_number(integrated_number):
        raise serializers.ValidationError(
            {
                field: serializers.ErrorDetail(
                    "must be 15 digits with a valid check digit", code="invalid"
                )
            }
        )


def _person_of(integrated_number: str, field: str = "integrated_number") -> Person:
    _integrated_number_checked(integrated_number, field)
    person = Person.objects.filter(integrated_number=integrated_number).first()
    if person is None:
        raise exceptions.NotFound(
            f"no person has integrated number {integrated_number}", code="not_found"
        )
    return person


class PersonMergeApi(StaffApiView):
    """名寄せ (SPEC 10.4): merge person B into representative A (permission merge_person)."""

    required_permission = "linkage.merge_person"

    @extend_schema(
        operation_id="person_merge",
        summary="Merge a person into this one (staff)",
        request=MergeInputSerializer,
        responses={201: MergeOutputSerializer, **problems(400, 401, 403, 404, 409, 429)},
    )
    def post(self, request: Request, integrated_number: str) -> Response:
        representative = _person_of(integrated_number)
        given = MergeInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        merged = _person_of(
            given.validated_data["merged_integrated_number"], field="merged_integrated_number"
        )
        try:
            record = person_merge(
                representative=representative,
                merged=merged,
                cause=PersonMerge.Cause.MANUAL,
                by=request.user.get_username(),
                reason=given.validated_data.get("reason", ""),
                request=request,
            )
        except MergeRefused as refusal:
            raise _conflict(refusal) from None
        return Response(MergeOutputSerializer(record).data, status=201)


class PersonUnmergeApi(StaffApiView):
    """名寄せ解除 (SPEC 10.4): B resolves to itself again, with exactly the links it had."""

    required_permission = "linkage.merge_person"

    @extend_schema(
        operation_id="person_unmerge",
        summary="Undo the merge of a person into this one (staff)",
        request=UnmergeInputSerializer,
        responses={204: None, **problems(400, 401, 403, 404, 409, 429)},
    )
    def delete(
        self, request: Request, integrated_number: str, merged_integrated_number: str
    ) -> Response:
        representative = _person_of(integrated_number)
        merged = _person_of(merged_integrated_number, field="merged_integrated_number")
        given = UnmergeInputSerializer(data=request.data or {})
        given.is_valid(raise_exception=True)
        try:
            person_unmerge(
                representative=representative,
                merged=merged,
                by=request.user.get_username(),
                reason=given.validated_data.get("reason", ""),
                request=request,
            )
        except MergeRefused as refusal:
            raise _conflict(refusal) from None
        return Response(status=204)


def _conflict(refusal: MergeRefused) -> Conflict:
    return Conflict(field=refusal.field, code=refusal.code, message=refusal.message)


def _copy_body(copy: Copy) -> dict[str, Any]:
    """A copy as its business system reads it."""
    return {
        "copy_id": str(copy.copy_id),
        "status": copy.status,
        "revision": copy.revision,
        "number_system": copy.number_system,
        "address_number": copy.address_number,
        "integrated_number": integrated_number_of(copy.person),
        "data_set": copy.data_set,
        "record_key": copy.record_key,
        "items": copy.items,
        "valid_from": copy.valid_from.isoformat(),
        "valid_to": copy.valid_to.isoformat() if copy.valid_to else None,
        "registered_at": copy.registered_at,
        "withdrawn_at": copy.withdrawn_at,
        "error": copy.last_error,
    }


def _exchange_refused(error: ExchangeRefused) -> Exception:
    """The service's refusal as the API answers it."""
    if error.status == 400:
        return serializers.ValidationError(
            {error.field: serializers.ErrorDetail(error.message, code=error.code)}
        )
    if error.status == 403:
        return exceptions.PermissionDenied(error.message, code=error.code)
    return Conflict(field=error.field, code=error.code, message=error.message)


def _copy_answer(result: CopyResult) -> Response:
    """202 when something is to reach the intermediate server, 200 when nothing changed."""
    copy = Copy.objects.select_related("person__merged_into").get(pk=result.copy.pk)
    return Response(_copy_body(copy), status=202 if result.created else 200)


@_SENSITIVE
class CopyCreateApi(BackboneApiView):
    """副本登録 (SPEC 11): a business system registers a copy of one record of a data set for
    the intermediate server, naming the person by its own address number."""

    oauth_scope = ("copies", "write")

    @extend_schema(
        operation_id="copy_create",
        summary="Register a copy (副本登録)",
        request=CopyInputSerializer,
        examples=[
            OpenApiExample(
                "tax_registers_income",
                summary="税 registers a resident's income for fiscal year 2026",
                request_only=True,
                value={
                    "event_id": "tax-copy-2026-000017",
                    "number_system": "02",
                    "address_number": "550001",
                    "data_set": "local_tax_income",
                    "record_key": "2026-000017",
                    "items": {"fiscal_year": 2026, "taxable_income": 3120000},
                    "valid_from": "2026-06-01",
                },
            )
        ],
        responses={
            202: OpenApiResponse(CopyOutputSerializer, "accepted: waiting for the code or sent"),
            200: OpenApiResponse(CopyOutputSerializer, "this event id was registered before"),
            **problems(400, 401, 403, 409, 413, 415, 429),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = CopyInputSerializer(data=request.data, context={"client": self.client})
        serializer.is_valid(raise_exception=True)
        try:
            result = copy_register(
                client=self.client, content=CopyContent(**serializer.validated_data)
            )
        except ExchangeRefused as error:
            raise _exchange_refused(error) from None
        return _copy_answer(result)


class CopyDetailApi(BackboneApiView):
    """One copy of the calling system's number system: read, replace (a new revision) or
    withdraw it. Another system's copy is 404."""

    @property
    def oauth_scope(self) -> tuple[str, str]:  # type: ignore[override]
        return ("copies", "read" if self.request.method == "GET" else "write")

    def _own(self, copy_id: str) -> Copy:
        copy = (
            Copy.objects.select_related("person__merged_into")
            .filter(copy_id=copy_id, number_system=self.client.number_system)
            .first()
            if _UUID.fullmatch(copy_id)
            else None
        )
        if copy is None:
            raise exceptions.NotFound(
                "no copy with this id of your number system", code="not_found"
            )
        return copy

    @extend_schema(
        operation_id="copy_retrieve",
        summary="Read a copy",
        responses={200: CopyOutputSerializer, **problems(401, 404, 429)},
    )
    def get(self, request: Request, copy_id: str) -> Response:
        copy = self._own(copy_id)
        _read_recorded(request, integrated_numbers=[integrated_number_of(copy.person)])
        return Response(_copy_body(copy))

    @extend_schema(
        operation_id="copy_replace",
        summary="Replace a copy's items and validity (a new revision)",
        request=CopyContentSerializer,
        responses={
            202: OpenApiResponse(CopyOutputSerializer, "the new revision is on its way"),
            200: OpenApiResponse(CopyOutputSerializer, "the copy already holds these items"),
            **problems(400, 401, 404, 409, 413, 415, 429),
        },
    )
    def put(self, request: Request, copy_id: str) -> Response:
        copy = self._own(copy_id)
        serializer = CopyContentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        content = CopyContent(
            number_system=copy.number_system,
            address_number=copy.address_number,
            data_set=copy.data_set,
            record_key=copy.record_key,
            items=serializer.validated_data["items"],
            valid_from=serializer.validated_data["valid_from"],
            valid_to=serializer.validated_data.get("valid_to"),
        )
        try:
            result = copy_replace(copy=copy, content=content)
        except ExchangeRefused as error:
            raise _exchange_refused(error) from None
        return _copy_answer(result)

    @extend_schema(
        operation_id="copy_withdraw",
        summary="Withdraw a copy",
        responses={
            202: OpenApiResponse(CopyOutputSerializer, "the withdrawal is on its way"),
            200: OpenApiResponse(CopyOutputSerializer, "it was withdrawn before"),
            **problems(401, 404, 429),
        },
    )
    def delete(self, request: Request, copy_id: str) -> Response:
        return _copy_answer(copy_withdraw(copy=self._own(copy_id)))


def _inquiry_body(inquiry: Inquiry) -> dict[str, Any]:
    return {
        "inquiry_id": str(inquiry.inquiry_id),
        "status": inquiry.status,
        "number_system": inquiry.number_system,
        "address_number": inquiry.address_number,
        "integrated_number": integrated_number_of(inquiry.person),
        "procedure": inquiry.procedure,
        "data_set": inquiry.data_set,
        "provider": inquiry.provider,
        "records": inquiry.records,
        "reason": inquiry.reason,
        "answered_at": inquiry.answered_at,
    }


@_SENSITIVE
class InquiryCreateApi(BackboneApiView):
    """情報照会 (SPEC 11): a business system asks another institution for a resident's data,
    naming the person by its own address number; answered later (GET, and the
    inquiry.answered notice)."""

    oauth_scope = ("inquiries", "write")

    @extend_schema(
        operation_id="inquiry_create",
        summary="Make an inquiry (情報照会)",
        request=InquiryInputSerializer,
        examples=[
            OpenApiExample(
                "welfare_asks_income",
                summary="福祉 asks 千代田区 for a resident's income, for child allowance",
                request_only=True,
                value={
                    "event_id": "welfare-inq-2026-000042",
                    "number_system": "04",
                    "address_number": "770001",
                    "procedure": "child_allowance_payment",
                    "data_set": "local_tax_income",
                    "provider": "131016",
                },
            )
        ],
        responses={
            202: OpenApiResponse(InquiryOutputSerializer, "accepted: waiting for the code or sent"),
            200: OpenApiResponse(InquiryOutputSerializer, "this event id was asked before"),
            **problems(400, 401, 403, 409, 413, 415, 429),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = InquiryInputSerializer(data=request.data, context={"client": self.client})
        serializer.is_valid(raise_exception=True)
        try:
            result = inquiry_make(
                client=self.client, content=InquiryContent(**serializer.validated_data)
            )
        except ExchangeRefused as error:
            raise _exchange_refused(error) from None
        inquiry = Inquiry.objects.select_related("person__merged_into").get(pk=result.inquiry.pk)
        return Response(_inquiry_body(inquiry), status=202 if result.created else 200)


class InquiryDetailApi(BackboneApiView):
    """One inquiry of the calling system and, once answered, the provider's records. Another
    system's inquiry is 404."""

    oauth_scope = ("inquiries", "read")

    @extend_schema(
        operation_id="inquiry_retrieve",
        summary="Read an inquiry and its answer",
        responses={200: InquiryOutputSerializer, **problems(401, 404, 429)},
    )
    def get(self, request: Request, inquiry_id: str) -> Response:
        inquiry = (
            Inquiry.objects.select_related("person__merged_into")
            .filter(inquiry_id=inquiry_id, client=self.client)
            .first()
            if _UUID.fullmatch(inquiry_id)
            else None
        )
        if inquiry is None:
            raise exceptions.NotFound("no inquiry of yours has this id", code="not_found")
        _read_recorded(request, integrated_numbers=[integrated_number_of(inquiry.person)])
        return Response(_inquiry_body(inquiry))


class ExchangeRecordListApi(BackboneApiView):
    """情報提供等記録 (SPEC 11): every exchange about one of the calling system's persons, as
    the intermediate server records them (who asked, which 事務, which data, when, answered or
    refused), for the resident's own view and for audits."""

    oauth_scope = ("exchange-records", "read")

    @extend_schema(
        operation_id="exchange_records_list",
        summary="Read a person's exchange records (情報提供等記録)",
        parameters=[ExchangeRecordsQuerySerializer],
        responses={
            200: ExchangeRecordsOutputSerializer,
            **problems(400, 401, 403, 429),
            (503, PROBLEM_CONTENT_TYPE): OpenApiResponse(
                ProblemSerializer, description="the intermediate server cannot be reached now"
            ),
        },
    )
    def get(self, request: Request) -> Response:
        query = ExchangeRecordsQuerySerializer(
            data=request.query_params.dict(), context={"client": self.client}
        )
        query.is_valid(raise_exception=True)
        try:
            person = exchange_person(**query.validated_data, what="exchange records")
        except ExchangeRefused as error:
            raise _exchange_refused(error) from None
        try:
            records = exchange_records_of(person)
        except PeerUnavailable:
            raise PeerNotReachable() from None
        _read_recorded(request, integrated_numbers=[integrated_number_of(person)])
        return Response(ExchangeRecordsOutputSerializer({"records": records}).data)
