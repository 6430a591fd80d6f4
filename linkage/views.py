"""The clerks' screens (ユーザ端末 43): dashboard, search and person page (online function
40), correction, the changed-resident list (list creation 41) and the error list
(confirmation 42). Thin views: reads come from linkage.selectors, changes from services.

The individual number travels only in POST bodies (search by number, reveal) and is never
put in a URL, a message or a log line.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from primitives.http import PeerUnavailable
from primitives.vocabulary import BASIC_ITEMS, Sex

from .exports import (
    CHANGED_RESIDENT_ENCODINGS,
    XLSX,
    XLSX_CONTENT_TYPE,
    XLSX_MAX_ROWS,
    Unencodable,
    changed_residents_csv_cp932,
    changed_residents_csv_utf8,
    changed_residents_xlsx,
)
from .filters import AccessRecordFilter, PersonSearchFilter
from .forms import ChangedResidentsForm, CorrectionForm, IndividualNumberSearchForm, RevealForm
from .models import (
    AccessAction,
    AccessOutcome,
    AccessRecord,
    AddressVersion,
    CodeRequest,
    CodeRequestStatus,
    Copy,
    Inquiry,
)
from .paging import CappedPaginator
from .selectors import (
    PersonDetail,
    changed_residents,
    code_requests_failed,
    person_by_individual_number,
    person_detail,
    persons_current,
    work_figures,
)
from .services.audit import GIVEN, access_record, criteria_of
from .services.code_requests import CodeRequestNotRetryable, code_request_retry
from .services.corrections import CorrectionOutdated, CorrectionUnchanged, person_correct
from .services.inquiries import exchange_records_of
from .services.notices import receivers_by_number_system

PAGE_SIZE = 50
View = Callable[..., Any]


def audited_permission(permission: str, action: str) -> Callable[[View], View]:
    """`permission_required` that also records the refused attempt (outcome `denied`) in
    the access audit before answering 403."""

    def decorator(view: View) -> View:
        @wraps(view)
        def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            if not request.user.has_perm(permission):
                number = kwargs.get("integrated_number")
                access_record(
                    action=action,
                    outcome=AccessOutcome.DENIED,
                    request=request,
                    integrated_numbers=[number] if number else [],
                )
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return checked

    return decorator


def _htmx(request: HttpRequest) -> bool:
    """A request htmx made to swap part of a page (django_htmx.middleware sets `htmx`)."""
    return bool(getattr(request, "htmx", False))


def _page(request: HttpRequest, items: Any, paginator: type[Paginator] = Paginator) -> Any:
    return paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _page_recorded(request: HttpRequest, criteria: dict[str, Any], page: Any) -> None:
    """A search or list page in the access audit: its criteria, who it showed, the count."""
    access_record(
        action=AccessAction.SEARCH,
        outcome=AccessOutcome.OK,
        request=request,
        criteria=criteria_of(criteria),
        integrated_numbers=[version.person.integrated_number for version in page],
        result_count=page.paginator.count,
    )


def _recorded(request: HttpRequest, action: str, integrated_number: str) -> None:
    access_record(
        action=action,
        outcome=AccessOutcome.OK,
        request=request,
        integrated_numbers=[integrated_number],
        result_count=1,
    )


def _detail_or_404(integrated_number: str) -> PersonDetail:
    detail = person_detail(integrated_number)
    if detail is None:
        raise Http404(_("この統合宛名番号の宛名はありません。"))
    return detail


# Dashboard


@login_required
@permission_required("linkage.view_coderequest", raise_exception=True)
def dashboard(request: HttpRequest) -> HttpResponse:
    template = "linkage/_dashboard_figures.html" if _htmx(request) else "linkage/dashboard.html"
    return render(request, template, _dashboard_context())


# The 30-day chart's geometry (SVG user units): the plot's left edge, bottom and height.
CHART_LEFT, CHART_BOTTOM, CHART_HEIGHT, BAR_STEP = 34, 100, 84, 10


def _nice_ceiling(value: int) -> int:
    """The y axis's top: 1, 2 or 5 times a power of ten, at least `value` (at least 1)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if factor * step >= value:
                return factor * step
        step *= 10


def _dashboard_context() -> dict[str, Any]:
    figures = work_figures()
    status_counts = figures.status_counts
    counts = [count for _, count in figures.changes_per_day]
    top = _nice_ceiling(max(counts, default=0))
    bars = []
    days = len(figures.changes_per_day)
    for n, (day, count) in enumerate(figures.changes_per_day):
        height = round(CHART_HEIGHT * count / top, 1)
        x = CHART_LEFT + BAR_STEP * n + 1
        bars.append(
            {
                "day": day,
                "count": count,
                "x": x,
                "middle": x + 4,
                "y": CHART_BOTTOM - height,
                "value_y": round(CHART_BOTTOM - height - 1.5, 1),
                "height": height,
                # A day label under every seventh bar and the last (today).
                "labelled": (days - 1 - n) % 7 == 0,
            }
        )
    ticks = [
        {
            "value": value,
            "y": round(CHART_BOTTOM - CHART_HEIGHT * value / top, 1),
            "label_y": round(CHART_BOTTOM - CHART_HEIGHT * value / top + 2, 1),
        }
        for value in (0, top // 2 if top > 1 else 0, top)
    ]
    return {
        "figures": figures,
        "statuses": [
            {"value": value, "label": label, "count": status_counts[value]}
            for value, label in CodeRequestStatus.choices
        ],
        "bars": bars,
        "ticks": [tick for n, tick in enumerate(ticks) if n == 0 or tick["value"]],
        "chart": {
            "left": CHART_LEFT,
            "right": CHART_LEFT + BAR_STEP * days,
            "bottom": CHART_BOTTOM,
            "top": CHART_BOTTOM - CHART_HEIGHT,
        },
        "total": sum(counts),
        "first_day": figures.changes_per_day[0][0],
        "last_day": figures.changes_per_day[-1][0],
        "refresh_seconds": settings.DASHBOARD_REFRESH_SECONDS,
        "updated_at": figures.computed_at,
        "heavy_reading_limit": settings.ACCESS_ALERT_PERSONS_PER_HOUR,
    }


# Search and person page (online function 40)


@login_required
@audited_permission("linkage.view_person", AccessAction.SEARCH)
def person_search(request: HttpRequest) -> HttpResponse:
    searched = any(value for name, value in request.GET.items() if name not in ("page", "ordering"))
    filterset = PersonSearchFilter(request.GET or None, queryset=persons_current())
    page = None
    if searched and filterset.is_valid():
        page = _page(request, filterset.qs, CappedPaginator)
        _page_recorded(request, filterset.form.cleaned_data, page)
    elif searched:
        access_record(
            action=AccessAction.SEARCH,
            outcome=AccessOutcome.INVALID,
            request=request,
            criteria=criteria_of(request.GET.dict()),
        )
    return _search_screen(request, filterset, page, searched, IndividualNumberSearchForm())


def _search_screen(
    request: HttpRequest,
    filterset: PersonSearchFilter,
    page: Any,
    searched: bool,
    number_form: IndividualNumberSearchForm,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "linkage/person_search.html",
        {
            "filterset": filterset,
            "searched": searched,
            "page": page,
            "query": _query_without_page(request),
            "number_form": number_form,
            "orderings": _orderings(request),
        },
        status=status,
    )


def _orderings(request: HttpRequest) -> list[dict[str, Any]]:
    """The sortable columns: for each, the query that sorts by it (descending if already
    ascending) and the current direction."""
    current = request.GET.get("ordering", "")
    columns = []
    for field in ("integrated_number", "name_kana", "birth_date", "registered_at"):
        query = request.GET.copy()
        query.pop("page", None)
        query["ordering"] = f"-{field}" if current == field else field
        direction = "asc" if current == field else "desc" if current == f"-{field}" else ""
        columns.append({"field": field, "query": query.urlencode(), "direction": direction})
    return columns


@sensitive_post_parameters("individual_number")
@login_required
@audited_permission("linkage.view_person", AccessAction.SEARCH)
@require_POST
def person_search_by_number(request: HttpRequest) -> HttpResponse:
    form = IndividualNumberSearchForm(request.POST)
    given = {"individual_number": GIVEN}
    if form.is_valid():
        person = person_by_individual_number(form.cleaned_data["individual_number"])
        access_record(
            action=AccessAction.SEARCH,
            outcome=AccessOutcome.OK if person is not None else AccessOutcome.NOT_FOUND,
            request=request,
            criteria=given,
            integrated_numbers=[person.integrated_number] if person is not None else [],
            result_count=1 if person is not None else 0,
        )
        if person is not None:
            return redirect("person", integrated_number=person.integrated_number)
        form.add_error(None, _("この個人番号の宛名はありません。"))
    else:
        access_record(
            action=AccessAction.SEARCH,
            outcome=AccessOutcome.INVALID,
            request=request,
            criteria=given,
        )
    return _search_screen(
        request,
        PersonSearchFilter(None, queryset=persons_current()),
        page=None,
        searched=False,
        number_form=form,
        status=200 if form.errors.get("__all__") else 400,
    )


@login_required
@audited_permission("linkage.view_person", AccessAction.PERSON_VIEW)
def person(request: HttpRequest, integrated_number: str) -> HttpResponse:
    detail = _detail_or_404(integrated_number)
    _recorded(request, AccessAction.PERSON_VIEW, integrated_number)
    return render(request, "linkage/person_detail.html", _person_context(detail))


def _person_context(detail: PersonDetail, **extra: Any) -> dict[str, Any]:
    return {
        "detail": detail,
        "person": detail.person,
        "copies": Copy.objects.filter(person=detail.person).order_by("withdrawn_at", "-pk"),
        "inquiries": Inquiry.objects.filter(person=detail.person).order_by("-pk"),
        "basic_items": BASIC_ITEMS,
        "number_systems": settings.NUMBER_SYSTEMS,
        "reveal_form": RevealForm(),
        "reveal_seconds": settings.REVEAL_SECONDS,
        **extra,
    }


@login_required
@audited_permission("linkage.reveal_individual_number", AccessAction.REVEAL)
@require_POST
def person_reveal(request: HttpRequest, integrated_number: str) -> HttpResponse:
    """Show the individual number in full, to a supervisor who asked for it with a purpose
    (利用目的, recorded with the access record) by POST, so the answer is never cached by a
    link or prefetch. Recorded before it is shown; hidden again by the page after
    REVEAL_SECONDS and when the page is left."""
    detail = _detail_or_404(integrated_number)
    form = RevealForm(request.POST)
    status = 200
    if detail.person.purged_at is not None:
        context = _person_context(detail)  # nothing left to reveal: the template says so
    elif not form.is_valid():
        context = _person_context(detail, reveal_form=form)
        status = 400
    else:
        purpose = form.cleaned_data["purpose"]
        access_record(
            action=AccessAction.REVEAL,
            outcome=AccessOutcome.OK,
            request=request,
            criteria={"purpose": purpose},
            integrated_numbers=[integrated_number],
            result_count=1,
        )
        context = _person_context(
            detail,
            revealed=detail.person.individual_number,
            purpose=settings.REVEAL_PURPOSES[purpose],
        )
    template = "linkage/_individual_number.html" if _htmx(request) else "linkage/person_detail.html"
    response = render(request, template, context, status=status)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@audited_permission("linkage.correct_person", AccessAction.CORRECTION)
def person_correction(request: HttpRequest, integrated_number: str) -> HttpResponse:
    """訂正 in two steps: the form, then a confirmation that shows what changes and which
    business systems will be told; only the confirmation stores (and notifies)."""
    detail = _detail_or_404(integrated_number)
    current = detail.current
    if request.method != "POST":
        return _correction_form(request, detail, _correction_started(current))
    form = CorrectionForm(request.POST)
    if not form.is_valid():
        return _correction_form(request, detail, form)
    if form.cleaned_data["based_on"] != current.history_seq:
        return _correction_outdated(request, detail, form)
    items = {name: form.cleaned_data[name] for name in BASIC_ITEMS}
    changes = [
        (
            AddressVersion.item_label(name),
            _item_shown(name, getattr(current, name)),
            _item_shown(name, items[name]),
        )
        for name in BASIC_ITEMS
        if items[name] != getattr(current, name)
    ]
    if not changes:
        form.add_error(
            None, _("基本4情報のどれも変わっていません。訂正する項目を変更してください。")
        )
        return _correction_form(request, detail, form)
    step = request.POST.get("step")
    if step == "edit":
        return _correction_form(request, detail, form, status=200)
    if step != "confirm":
        return render(
            request,
            "linkage/person_correction_confirm.html",
            _person_context(
                detail,
                form=form,
                changes=changes,
                told=_correction_told(detail),
                reason=form.cleaned_data["reason"],
            ),
        )
    try:
        version = person_correct(
            person=detail.person,
            items=items,
            reason=form.cleaned_data["reason"],
            corrected_by=request.user,  # type: ignore[arg-type]
            based_on=form.cleaned_data["based_on"],
        )
    except CorrectionOutdated:  # stored between this request's read and its lock
        return _correction_outdated(request, _detail_or_404(integrated_number), form)
    except CorrectionUnchanged:
        form.add_error(
            None, _("基本4情報のどれも変わっていません。訂正する項目を変更してください。")
        )
        return _correction_form(request, detail, form)
    _recorded(request, AccessAction.CORRECTION, integrated_number)
    messages.success(
        request,
        _("訂正を登録しました(履歴SEQ %(seq)s)。連携している業務システムに通知します。")
        % {"seq": version.history_seq},
    )
    return redirect("person", integrated_number=integrated_number)


def _item_shown(name: str, value: Any) -> str:
    """A basic item as the person page shows it (the sex by its name, a date as YYYY-MM-DD)."""
    if name == "sex":
        return str(Sex(value).label) if value in Sex.values else str(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value or "—")


def _correction_started(current: AddressVersion, reason: str = "") -> CorrectionForm:
    """The correction form filled with the current items, based on the current version."""
    initial = {name: getattr(current, name) for name in BASIC_ITEMS}
    return CorrectionForm(initial={**initial, "reason": reason, "based_on": current.history_seq})


def _correction_outdated(
    request: HttpRequest, detail: PersonDetail, form: CorrectionForm
) -> HttpResponse:
    """A version was stored after the form was opened (a business system's change, another
    clerk's correction): the form again from the current items, with the reason kept, and
    nothing stored. Storing the clerk's items as they were would undo the newer version in
    every item the clerk did not mean to change."""
    messages.warning(
        request,
        _(
            "この宛名は、訂正を始めた後に更新されました(現在は履歴SEQ %(seq)s)。"
            "訂正は登録していません。最新の内容を表示しましたので、訂正する項目をもう一度"
            "入力してください。"
        )
        % {"seq": detail.current.history_seq},
    )
    fresh = _correction_started(detail.current, reason=form.cleaned_data["reason"])
    return _correction_form(request, detail, fresh, status=409)


def _correction_form(
    request: HttpRequest, detail: PersonDetail, form: CorrectionForm, *, status: int | None = None
) -> HttpResponse:
    return render(
        request,
        "linkage/person_correction.html",
        _person_context(detail, form=form),
        status=status or (400 if form.errors else 200),
    )


def _correction_told(detail: PersonDetail) -> list[dict[str, Any]]:
    """Who a correction tells (address.updated to every linked system): each linked number
    system with the person's address numbers there and whether it takes notices."""
    numbers: dict[str, list[str]] = {}
    for link in detail.links:
        numbers.setdefault(link.number_system, []).append(link.address_number)
    receivers = receivers_by_number_system(numbers)
    return [
        {
            "number_system": number_system,
            "name": settings.NUMBER_SYSTEMS.get(number_system, ""),
            "address_numbers": address_numbers,
            "takes_notices": bool(receivers.get(number_system)),
        }
        for number_system, address_numbers in sorted(numbers.items())
    ]


# Changed-resident list (list creation 41)


def _presets(today: datetime.date) -> list[dict[str, Any]]:
    week_start = today - datetime.timedelta(days=today.weekday())
    return [
        {"label": _("今日"), "date_from": today, "date_to": today},
        {"label": _("今週"), "date_from": week_start, "date_to": today},
        {"label": _("今月"), "date_from": today.replace(day=1), "date_to": today},
    ]


def _period_query(date_from: datetime.date, date_to: datetime.date) -> str:
    return urlencode({"date_from": date_from.isoformat(), "date_to": date_to.isoformat()})


@login_required
@audited_permission("linkage.view_person", AccessAction.SEARCH)
def changed_resident_list(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    form = ChangedResidentsForm(request.GET or {"date_from": today, "date_to": today})
    page = query = None
    if form.is_valid():
        date_from, date_to = form.cleaned_data["date_from"], form.cleaned_data["date_to"]
        page = _page(request, changed_residents(date_from=date_from, date_to=date_to))
        query = _period_query(date_from, date_to)
        _page_recorded(request, form.cleaned_data, page)
    presets = [
        {**preset, "query": _period_query(preset["date_from"], preset["date_to"])}
        for preset in _presets(today)
    ]
    return render(
        request,
        "linkage/changed_residents.html",
        {
            "form": form,
            "page": page,
            "presets": presets,
            "query": query,
            "encodings": CHANGED_RESIDENT_ENCODINGS,
        },
        status=400 if form.errors else 200,
    )


@login_required
@audited_permission("linkage.export_person", AccessAction.EXPORT)
def changed_resident_export(request: HttpRequest) -> HttpResponseBase:
    form = ChangedResidentsForm(request.GET)
    encoding = request.GET.get("encoding", "utf-8")
    if not form.is_valid() or encoding not in (*CHANGED_RESIDENT_ENCODINGS, XLSX):
        messages.error(request, _("期間と文字コードを正しく指定してください。"))
        return redirect(reverse("changed_residents") + "?" + _query_without_page(request))
    date_from, date_to = form.cleaned_data["date_from"], form.cleaned_data["date_to"]
    rows = changed_residents(date_from=date_from, date_to=date_to)
    exported = rows.integrated_numbers()
    if encoding == XLSX and len(exported) > XLSX_MAX_ROWS:
        messages.error(
            request,
            _(
                "Excel形式で出力できるのは%(limit)s件までです(この期間は%(count)s件)。"
                "期間を分けるか、CSVを選んでください。"
            )
            % {"limit": f"{XLSX_MAX_ROWS:,}", "count": f"{len(exported):,}"},
        )
        return redirect(reverse("changed_residents") + "?" + _query_without_page(request))
    access_record(
        action=AccessAction.EXPORT,
        outcome=AccessOutcome.OK,
        request=request,
        criteria=criteria_of({**form.cleaned_data, "encoding": encoding}),
        integrated_numbers=exported,
        result_count=len(exported),
    )
    stem = f"changed-residents_{date_from:%Y%m%d}-{date_to:%Y%m%d}"
    filename = f"{stem}.xlsx" if encoding == XLSX else f"{stem}_{encoding}.csv"
    response: HttpResponseBase
    if encoding == XLSX:
        response = HttpResponse(changed_residents_xlsx(rows), content_type=XLSX_CONTENT_TYPE)
    elif encoding == "utf-8":
        response = StreamingHttpResponse(
            changed_residents_csv_utf8(rows), content_type="text/csv; charset=utf-8"
        )
    else:
        try:
            content = changed_residents_csv_cp932(rows)
        except Unencodable as error:
            return render(
                request,
                "linkage/changed_residents_unencodable.html",
                {"problems": error.problems, "utf8_query": _with_encoding(request, "utf-8")},
                status=422,
            )
        response = HttpResponse(content, content_type="text/csv; charset=cp932")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _with_encoding(request: HttpRequest, encoding: str) -> str:
    query = request.GET.copy()
    query["encoding"] = encoding
    return query.urlencode()


# The intermediate server's daily work (SPEC 11)


@login_required
@audited_permission("linkage.view_person", AccessAction.PERSON_VIEW)
def person_exchange_records(request: HttpRequest, integrated_number: str) -> HttpResponse:
    """情報提供等記録 of a person, read from the intermediate server: who asked, which 事務,
    which data, when, answered or refused."""
    detail = _detail_or_404(integrated_number)
    _recorded(request, AccessAction.PERSON_VIEW, integrated_number)
    try:
        records: list[dict[str, Any]] | None = exchange_records_of(detail.person)
    except PeerUnavailable:
        records = None
    return render(
        request,
        "linkage/exchange_records.html",
        {"person": detail.person, "records": records},
        status=200 if records is not None else 503,
    )


@login_required
@permission_required("linkage.view_person", raise_exception=True)
def exchange_waiting(request: HttpRequest) -> HttpResponse:
    """What waits for a person's code (符号未取得): copies and inquiries, oldest first."""
    return render(
        request,
        "linkage/exchange_waiting.html",
        {
            "copies": Copy.objects.filter(status=Copy.Status.WAITING_FOR_CODE)
            .select_related("person")
            .order_by("created_at")[:500],
            "inquiries": Inquiry.objects.filter(status=Inquiry.Status.WAITING_FOR_CODE)
            .select_related("person")
            .order_by("created_at")[:500],
            "number_systems": settings.NUMBER_SYSTEMS,
        },
    )


# Error list (confirmation 42)


@login_required
@permission_required("linkage.view_coderequest", raise_exception=True)
def code_request_errors(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "linkage/code_request_errors.html",
        {"page": _page(request, code_requests_failed()), "query": ""},
    )


@login_required
@audited_permission("linkage.retry_coderequest", AccessAction.RETRY)
@require_POST
def code_request_errors_retry(request: HttpRequest) -> HttpResponse:
    """Re-request the chosen failed code requests (error -> requesting, a new generation)."""
    # Row ids as the form sends them: ASCII digits within a 64-bit id (anything else, such
    # as 40 nines, would overflow the database's integer and answers nothing here).
    ids = [
        value
        for value in request.POST.getlist("code_request")
        if value.isascii() and value.isdigit() and len(value) <= 18
    ]
    if not ids:
        messages.error(request, _("再依頼する宛名を選択してください。"))
        return redirect("code_request_errors")
    retried: list[str] = []
    cause = f"clerk_retry:{request.user.get_username()}"
    for code_request in CodeRequest.objects.filter(pk__in=ids).select_related("person"):
        try:
            with transaction.atomic():
                code_request_retry(code_request=code_request, cause=cause)
        except CodeRequestNotRetryable:
            continue
        retried.append(code_request.person.integrated_number)
    access_record(
        action=AccessAction.RETRY,
        outcome=AccessOutcome.OK,
        request=request,
        integrated_numbers=retried,
        result_count=len(retried),
    )
    if retried:
        messages.success(
            request, _("%(count)d 件の符号取得を再依頼しました。") % {"count": len(retried)}
        )
    if len(retried) < len(ids):
        messages.warning(
            request,
            _("%(count)d 件はエラー状態ではないため再依頼しませんでした。")
            % {"count": len(ids) - len(retried)},
        )
    return redirect("code_request_errors")


# The access audit


@login_required
@permission_required("linkage.view_accessrecord", raise_exception=True)
def access_records(request: HttpRequest) -> HttpResponse:
    """The access audit for supervisors: read and filter, never change."""
    filterset = AccessRecordFilter(
        request.GET or None,
        queryset=AccessRecord.objects.select_related("user", "client").order_by("-pk"),
    )
    page = _page(request, filterset.qs) if filterset.is_valid() or not request.GET else None
    return render(
        request,
        "linkage/access_records.html",
        {"filterset": filterset, "page": page, "query": _query_without_page(request)},
        status=200 if page is not None else 400,
    )


def locked_out(
    request: HttpRequest, original_response: Any = None, credentials: Any = None
) -> HttpResponse:
    """django-axes' answer to a sign-in on a locked account (AXES_LOCKOUT_CALLABLE)."""
    return render(
        request,
        "registration/locked_out.html",
        {
            "failure_limit": settings.AXES_FAILURE_LIMIT,
            "minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
        },
        status=429,
    )
