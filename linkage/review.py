"""名寄せ on the clerk screens (SPEC 10.2-10.4): the candidate search, the review list
(名寄せ候補一覧, states new / in review / closed) and its actions."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from .forms import CandidateSearchForm, ReviewActionForm
from .matching.scoring import FIELDS, LEVELS
from .matching.search import Query, candidates_described, candidates_find, current_weights
from .models import AccessAction, AccessOutcome, AddressVersion, PersonMerge, ReviewItem
from .services.audit import access_record, criteria_of
from .services.merges import MergeRefused, person_merge, person_unmerge
from .views import _page, audited_permission

AGREEMENT_LABELS = {
    "exact": gettext_lazy("一致"),
    "normalised": gettext_lazy("表記ゆれ一致"),
    "variant": gettext_lazy("異体字一致"),
    "similar": gettext_lazy("類似"),
    "different": gettext_lazy("不一致"),
    "missing": gettext_lazy("比較なし"),
}


FIELD_LABELS = {name: AddressVersion.item_label(name) for name in FIELDS}


def _explained(
    agreement: dict[str, str], weights: dict[str, float] | None = None
) -> list[dict[str, Any]]:
    return [
        {
            "field": FIELD_LABELS[name],
            "level": agreement.get(name, "missing"),
            "label": AGREEMENT_LABELS[agreement.get(name, "missing")],
            "weight": (weights or {}).get(name),
        }
        for name in FIELDS
    ]


def _weight_table() -> list[dict[str, Any]]:
    """The weights in use, per item and level, as the screen shows them (SPEC 10.3)."""
    weights = current_weights()
    levels = [level for level in LEVELS if level != "missing"]
    return [
        {
            "field": FIELD_LABELS[name],
            "weights": [
                weights.weight(name, level)
                if level in weights.m[name] and weights.m[name][level] > 0.001
                else None
                for level in levels
            ],
        }
        for name in FIELDS
    ]


def _weights_label() -> str:
    source = current_weights().source
    if source == "default":
        return _("既定値")
    return _("この団体のデータから推定（%(day)s）") % {"day": source.removeprefix("estimated ")}


@login_required
@audited_permission("linkage.view_person", AccessAction.CANDIDATE_SEARCH)
def candidate_search(request: HttpRequest) -> HttpResponse:
    form = CandidateSearchForm(request.GET or None)
    candidates: list[dict[str, Any]] = []
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        query = Query(
            name=data.get("name") or "",
            name_kana=data.get("name_kana") or "",
            birth_date=data.get("birth_date"),
            sex=data.get("sex") or "",
            address=data.get("address") or "",
        )
        candidates = candidates_described(candidates_find(query, limit=20))
        for candidate in candidates:
            candidate["explained"] = _explained(candidate["agreement"], candidate["weights"])
        access_record(
            action=AccessAction.CANDIDATE_SEARCH,
            outcome=AccessOutcome.OK,
            request=request,
            criteria=criteria_of(form.cleaned_data),
            integrated_numbers=[c["integrated_number"] for c in candidates],
        )
    return render(
        request,
        "linkage/candidates.html",
        {
            "form": form,
            "candidates": candidates,
            "weights": _weights_label(),
            "weight_table": _weight_table(),
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@login_required
@audited_permission("linkage.view_reviewitem", AccessAction.REVIEW)
def review_list(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state") or ReviewItem.State.NEW
    if state not in ReviewItem.State.values:
        state = ReviewItem.State.NEW
    items = (
        ReviewItem.objects.filter(state=state)
        .select_related("person", "other", "merge")
        .order_by("-created_at", "-pk")
    )
    page = _page(request, items)
    ids = {pid for item in page for pid in (item.person_id, item.other_id) if pid is not None}
    current = {v.person_id: v for v in AddressVersion.objects.current().filter(person_id__in=ids)}
    for item in page:
        item.explained = _explained(item.agreement) if item.agreement else []
        item.person_current = current.get(item.person_id)
        item.other_current = current.get(item.other_id) if item.other_id else None
    counts = dict(
        ReviewItem.objects.order_by()
        .values_list("state")
        .annotate(n=Count("pk"))
        .values_list("state", "n")
    )
    states = [(value, label, counts.get(value, 0)) for value, label in ReviewItem.State.choices]
    return render(
        request,
        "linkage/review_list.html",
        {"page": page, "state": state, "states": states, "query": f"state={state}"},
    )


class _Closed(Exception):
    """The item was closed by another action after this request read it."""


@login_required
@audited_permission("linkage.view_reviewitem", AccessAction.REVIEW)
@require_POST
def review_act(request: HttpRequest, item_id: int) -> HttpResponse:
    item = get_object_or_404(
        ReviewItem.objects.select_related("person", "other", "merge"), pk=item_id
    )
    form = ReviewActionForm(request.POST)
    back = redirect(f"{reverse('review_list')}?state={item.state}")
    if not form.is_valid() or item.state == ReviewItem.State.CLOSED:
        messages.error(
            request, _("この候補は処理できません（処理済みか、操作が正しくありません）。")
        )
        return back
    action = form.cleaned_data["action"]
    username = request.user.get_username()
    reason = form.cleaned_data["reason"]
    if action in ("merge", "undo") and not request.user.has_perm("linkage.merge_person"):
        raise PermissionDenied
    try:
        with transaction.atomic():
            # Two supervisors acting on one item at once: the second finds it closed.
            open_ = ReviewItem.objects.select_for_update().filter(pk=item.pk)
            if not open_.exclude(state=ReviewItem.State.CLOSED).exists():
                raise _Closed
            _act(
                item,
                action,
                username=username,
                reason=reason,
                representative=form.cleaned_data["representative"],
                request=request,
            )
    except _Closed:
        messages.error(request, _("この候補は、他の職員が先に処理しました。"))
        return back
    except MergeRefused as refusal:
        messages.error(
            request, _("名寄せできません: %(reason)s") % {"reason": _refusal_words(refusal)}
        )
        return back
    access_record(
        action=AccessAction.REVIEW,
        outcome=AccessOutcome.OK,
        request=request,
        criteria={"action": action, "kind": item.kind},
        integrated_numbers=[
            p.integrated_number for p in (item.person, item.other) if p is not None
        ],
    )
    messages.success(request, _("処理しました。"))
    return back


REFUSAL_WORDS = {
    "different_individuals": gettext_lazy("両方の宛名に個人番号があり、別人です。"),
    "holder_must_be_representative": gettext_lazy("個人番号を持つ宛名を代表宛名にしてください。"),
    "already_merged": gettext_lazy("どちらかが既に他の宛名に名寄せされています。"),
    "same_person": gettext_lazy("同じ宛名どうしは名寄せできません。"),
    "not_merged": gettext_lazy("名寄せされていません。"),
}


def _refusal_words(refusal: MergeRefused) -> str:
    return str(REFUSAL_WORDS.get(refusal.code, refusal.message))


def _act(
    item: ReviewItem, action: str, *, username: str, reason: str, representative: str, request: Any
) -> None:
    closed = {"state": ReviewItem.State.CLOSED, "closed_by": username, "note": reason}
    if action == "later":
        ReviewItem.objects.filter(pk=item.pk).update(state=ReviewItem.State.IN_REVIEW, note=reason)
        return
    if action == "different":
        ReviewItem.objects.filter(pk=item.pk).update(outcome=ReviewItem.Outcome.DIFFERENT, **closed)
        return
    if action == "confirm":
        ReviewItem.objects.filter(pk=item.pk).update(outcome=ReviewItem.Outcome.CONFIRMED, **closed)
        if item.merge is not None:
            PersonMerge.objects.filter(pk=item.merge.pk).update(
                confirmed_by=username, confirmed_at=timezone.now()
            )
        return
    if action == "undo":
        if item.merge is None:
            raise MergeRefused("not_merged", "this item is not a merge")
        person_unmerge(
            representative=item.merge.representative,
            merged=item.merge.merged,
            by=username,
            reason=reason,
            request=request,
        )
        return
    # merge: the chosen representative stays; the other is merged into it.
    if item.other is None:
        raise MergeRefused("same_person", "this item names one person")
    pair = {item.person.integrated_number: item.person, item.other.integrated_number: item.other}
    chosen = pair.get(representative) or item.other
    merged = item.person if chosen == item.other else item.other
    person_merge(
        representative=chosen,
        merged=merged,
        cause=PersonMerge.Cause.MANUAL,
        by=username,
        reason=reason,
        request=request,
    )
    ReviewItem.objects.filter(pk=item.pk).update(outcome=ReviewItem.Outcome.MERGED, **closed)
