"""The simulated business systems over HTTP: their clerks' screens (S11-S16) and the
endpoint each one receives linkage's notices on (S27, S120, S34)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from primitives.faults import injected_fault
from primitives.numbers import is_valid_integrated_number

from .forms import BUSINESS_FORMS, ResidentForm
from .linkage_client import LinkageUnavailable
from .models import (
    RECEIVERS,
    RECORD_MODELS,
    BusinessSystem,
    IncomeRecord,
    ReceivedNotice,
    ReceiverControl,
    ResidentRecord,
    Submission,
    WelfareRecord,
)
from .services import (
    AlreadyRegistered,
    NoticeRefused,
    candidates_search,
    exchange_state,
    income_copy_register,
    notice_receive,
    resident_change,
    resident_register,
    submission_resend,
    welfare_income_inquire,
)

PAGE_SIZE = 50


# The business systems' screens are for clerks (roles clerk and supervisor, linkage.roles);
# an administrator or a user without a role is refused.
OPERATE = "backbone.operate_business_system"


def _system(number_system: str) -> BusinessSystem:
    system = BusinessSystem.objects.filter(number_system=number_system).first()
    if system is None or number_system not in RECORD_MODELS:
        raise Http404(_("この業務システムは連携サーバーに接続されていません。"))
    return system


def _record(system: BusinessSystem, address_number: str) -> ResidentRecord:
    record = (
        RECORD_MODELS[system.number_system].objects.filter(address_number=address_number).first()
    )
    if record is None:
        raise Http404(_("この宛名番号の住民は登録されていません。"))
    return record


@login_required
@permission_required(OPERATE, raise_exception=True)
def system_list(request: HttpRequest) -> HttpResponse:
    systems = {system.number_system: system for system in BusinessSystem.objects.all()}
    rows = [
        {
            "number_system": number_system,
            "label": label,
            "system": systems.get(number_system),
            "count": RECORD_MODELS[number_system].objects.count()
            if number_system in RECORD_MODELS
            else 0,
        }
        for number_system, label in settings.NUMBER_SYSTEMS.items()
        if number_system in RECORD_MODELS
    ]
    return render(request, "backbone/system_list.html", {"rows": rows})


@login_required
@permission_required(OPERATE, raise_exception=True)
def resident_list(request: HttpRequest, number_system: str) -> HttpResponse:
    system = _system(number_system)
    records = RECORD_MODELS[number_system].objects.order_by("-pk")
    query = request.GET.get("q", "").strip()
    if query:
        records = records.filter(
            Q(address_number=query)
            | Q(integrated_number=query)
            | Q(name__contains=query)
            | Q(name_kana__contains=query)
        )
    page = Paginator(records, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "backbone/resident_list.html",
        {"system": system, "page": page, "query": query},
    )


@sensitive_post_parameters("individual_number")
@login_required
@permission_required(OPERATE, raise_exception=True)
def resident_new(request: HttpRequest, number_system: str) -> HttpResponse:
    system = _system(number_system)
    # 住基 always knows the number; another system may register a resident without it, after
    # asking linkage whether the person is known already (名寄せ候補照会, the JP standard).
    number_required = number_system == settings.RESIDENT_REGISTER_NUMBER_SYSTEM
    form = ResidentForm(request.POST or None, number_required=number_required)
    business = BUSINESS_FORMS[number_system](request.POST or None, prefix="business")
    candidates: list[dict[str, Any]] | None = None
    if request.method == "POST" and form.is_valid() and business.is_valid():
        items = {**form.cleaned_data, **business.cleaned_data}
        individual_number = items.pop("individual_number") or ""
        chosen = request.POST.get("resolution", "")
        resolution: dict[str, str] | None = None
        if not individual_number:
            if chosen == "new":
                resolution = {"mode": "new"}
            elif is_valid_integrated_number(chosen):
                resolution = {"mode": "link", "integrated_number": chosen}
            else:
                try:
                    candidates = candidates_search(system=system, items=items)
                except LinkageUnavailable as error:
                    messages.error(
                        request, _("連携サーバーに照会できませんでした: %(e)s") % {"e": error}
                    )
                    candidates = []
                return render(
                    request,
                    "backbone/resident_form.html",
                    {
                        "system": system,
                        "form": form,
                        "business": business,
                        "record": None,
                        "candidates": candidates,
                    },
                )
        try:
            outcome = resident_register(
                system=system,
                individual_number=individual_number,
                items=items,
                resolution=resolution,
            )
        except AlreadyRegistered as already:
            form.add_error(
                "individual_number",
                _("この個人番号は宛名番号 %(number)s で登録済みです。")
                % {"number": already.address_number},
            )
        else:
            _tell(request, outcome.submission)
            return redirect("backbone:resident", number_system, outcome.record.address_number)
    return render(
        request,
        "backbone/resident_form.html",
        {"system": system, "form": form, "business": business, "record": None},
    )


@sensitive_post_parameters("individual_number")
@login_required
@permission_required(OPERATE, raise_exception=True)
def resident_detail(request: HttpRequest, number_system: str, address_number: str) -> HttpResponse:
    system = _system(number_system)
    record = _record(system, address_number)
    initial = {
        name: getattr(record, name)
        for name in ("name", "name_kana", "birth_date", "sex", "address")
    }
    business_initial = {name: getattr(record, name) for name in record.BUSINESS_FIELDS}
    data = request.POST if request.method == "POST" else None
    form = ResidentForm(data, initial=initial, registering=False)
    business = BUSINESS_FORMS[number_system](data, initial=business_initial, prefix="business")
    if request.method == "POST" and form.is_valid() and business.is_valid():
        outcome = resident_change(
            system=system, record=record, items={**form.cleaned_data, **business.cleaned_data}
        )
        _tell(request, outcome.submission)
        return redirect("backbone:resident", number_system, address_number)
    submissions = Submission.objects.filter(
        number_system=number_system, address_number=address_number
    )[:20]
    notices = ReceivedNotice.objects.filter(
        number_system=number_system, address_number=address_number
    )[:20]
    return render(
        request,
        "backbone/resident_detail.html",
        {
            "system": system,
            "record": record,
            "form": form,
            "business": business,
            "submissions": submissions,
            "latest": submissions[0] if submissions else None,
            "notices": notices,
            "masked_number": record.individual_number_masked,
            "exchange": exchange_state(system=system, record=record),
            "providers": PROVIDERS,
        },
    )


# The institutions the simulated 福祉 asks (the sandbox's second institution, 千代田区).
PROVIDERS = {"131016": "東京都千代田区"}


@login_required
@permission_required(OPERATE, raise_exception=True)
@require_POST
def resident_exchange(
    request: HttpRequest, number_system: str, address_number: str
) -> HttpResponse:
    """税 registers the record's income as a copy; 福祉 asks another institution for the
    resident's income (SPEC 11), through linkage."""
    system = _system(number_system)
    record = _record(system, address_number)
    try:
        if isinstance(record, IncomeRecord):
            copy = income_copy_register(system=system, record=record)
            messages.success(
                request, _("副本を登録しました(状態: %(status)s)。") % {"status": copy["status"]}
            )
        elif isinstance(record, WelfareRecord):
            provider = request.POST.get("provider", "")
            if provider not in PROVIDERS:
                messages.error(request, _("照会先を選んでください。"))
            else:
                inquiry = welfare_income_inquire(
                    system=system,
                    record=record,
                    provider=provider,
                    procedure="child_allowance_payment",
                )
                messages.success(
                    request,
                    _("情報照会を受け付けました(状態: %(status)s)。")
                    % {"status": inquiry["status"]},
                )
    except LinkageUnavailable as error:
        messages.error(
            request, _("連携サーバーが受け付けませんでした。(%(reason)s)") % {"reason": error}
        )
    return redirect("backbone:resident", number_system, address_number)


@login_required
@permission_required(OPERATE, raise_exception=True)
@require_POST
def resident_resend(request: HttpRequest, number_system: str, address_number: str) -> HttpResponse:
    system = _system(number_system)
    record = _record(system, address_number)
    submission = submission_resend(system=system, record=record)
    if submission is None:
        messages.info(request, _("送信が必要な異動はありません。"))
    else:
        _tell(request, submission)
    return redirect("backbone:resident", number_system, address_number)


def _tell(request: HttpRequest, submission: Submission) -> None:
    """What linkage answered, in the clerk's words."""
    if submission.status == Submission.Status.ACCEPTED:
        messages.success(
            request,
            _("連携サーバーが受理しました(統合宛名番号 %(number)s)。")
            % {"number": submission.answer.get("integrated_number", "")},
        )
    elif submission.status == Submission.Status.UNREACHABLE:
        messages.error(
            request,
            _(
                "連携サーバーに接続できませんでした。入力内容は保存されています。再送信してください。(%(reason)s)"
            )
            % {"reason": submission.error},
        )
    else:
        messages.error(
            request,
            _("連携サーバーがエラーを返しました。内容を訂正して再送信してください。(%(reason)s)")
            % {"reason": submission.error},
        )


@csrf_exempt
@require_POST
def notices(request: HttpRequest, number_system: str) -> HttpResponse:
    """Linkage's signed notices to this system (no session: the signature authenticates)."""
    system = BusinessSystem.objects.filter(number_system=number_system).first()
    if system is None or number_system not in RECORD_MODELS:
        return JsonResponse({"code": "unknown_system", "detail": "no such system"}, status=404)
    injected = injected_fault(ReceiverControl, RECEIVERS.get(number_system, ""))
    if injected is not None:
        return injected
    try:
        received = notice_receive(system=system, headers=request.headers, body=request.body)
    except NoticeRefused as refused:
        return JsonResponse(
            {"code": refused.code, "detail": refused.message}, status=refused.status
        )
    return JsonResponse({"status": "accepted", "outcome": received.outcome})
