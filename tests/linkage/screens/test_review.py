"""The clerk screens of 名寄せ: the candidate search, the review list and its actions, the
person page's merge records (SPEC 10.2-10.4)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from linkage import review
from linkage.models import AccessAction, AccessRecord, Person, PersonMerge, ReviewItem
from tests.conftest import post_change, run_together
from tests.factories import KeyedClient, address_change_body, backbone_client, resident
from tests.residents import signed_in

pytestmark = pytest.mark.django_db


def numberless(keyed: KeyedClient, someone: Any, **overrides: Any) -> dict[str, Any]:
    body = address_change_body(number_system=keyed.number_system, resident=someone, **overrides)
    del body["individual_number"]
    answer = post_change(keyed, body)
    assert answer.status_code == 201, answer.content
    return dict(answer.json())


def test_the_candidate_screen_explains_each_field_in_japanese(
    jyuki: KeyedClient, clerk: Any
) -> None:
    person = {
        "name": "髙橋　一郎",
        "name_kana": "タカハシ　イチロウ",
        "birth_date": "1986-03-21",
        "sex": "1",
        "address": "横浜市中区本町1丁目2番3号",
    }
    number = post_change(jyuki, address_change_body(person=person)).json()["integrated_number"]
    page = signed_in(clerk).get(
        "/candidates/",
        {
            "name": "高橋一郎",
            "name_kana": "ﾀｶﾊｼｲﾁﾛｳ",
            "birth_date": "1986-03-21",
            "address": "横浜市中区本町一丁目2-3",
        },
    )
    text = page.content.decode()
    assert page.status_code == 200
    assert number in text
    assert "氏名: 異体字一致" in text and "住所: 表記ゆれ一致" in text and "生年月日: 一致" in text
    # The weights in use are shown: the default for an exact birth date is log2(0.945/0.00004).
    assert "使っている重み（既定値）" in text and "14.5" in text
    assert AccessRecord.objects.filter(
        action=AccessAction.CANDIDATE_SEARCH, integrated_numbers=[number]
    ).exists()


def test_the_candidate_screen_asks_for_a_name(clerk: Any) -> None:
    page = signed_in(clerk).get("/candidates/", {"birth_date": "1986-03-21"})
    assert page.status_code == 400
    assert "氏名か氏名カナのどちらかを入力してください。" in page.content.decode()


def test_a_supervisor_merges_a_possible_duplicate_from_the_review_list(
    tax: KeyedClient, supervisor: Any
) -> None:
    someone = resident()
    first = numberless(tax, someone)
    second = numberless(tax, someone)
    item = ReviewItem.objects.get(kind=ReviewItem.Kind.POSSIBLE_DUPLICATE)
    assert item.person.integrated_number == second["integrated_number"]
    browser = signed_in(supervisor)
    listing = browser.get("/review/").content.decode()
    assert "同一人の可能性" in listing and first["integrated_number"] in listing
    answer = browser.post(
        f"/review/{item.pk}/act",
        {"action": "merge", "representative": first["integrated_number"], "reason": "窓口で確認"},
    )
    assert answer.status_code == 302
    item.refresh_from_db()
    assert (item.state, item.outcome) == (ReviewItem.State.CLOSED, ReviewItem.Outcome.MERGED)
    merged = Person.objects.get(integrated_number=second["integrated_number"])
    assert (
        merged.merged_into is not None
        and merged.merged_into.integrated_number == first["integrated_number"]
    )
    record = PersonMerge.objects.get()
    assert (record.merged_by, record.reason) == ("supervisor-1", "窓口で確認")
    # Both persons' pages show the merge; the merged one points to its representative.
    page = browser.get(f"/persons/{second['integrated_number']}/").content.decode()
    assert "名寄せされています" in page and "名寄せの記録" in page
    page = browser.get(f"/persons/{first['integrated_number']}/").content.decode()
    assert "名寄せの記録" in page and "名寄せされた宛名の宛名番号" in page
    # A merged person is no longer listed by the search: its representative is.
    search = browser.get("/persons/", {"name": someone.name}).content.decode()
    assert first["integrated_number"] in search and second["integrated_number"] not in search


@pytest.mark.django_db(transaction=True)
def test_two_supervisors_acting_on_one_item_at_once_act_once(
    tax: KeyedClient, supervisor: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One marks the pair different while the other merges it, at the same moment. Both had
    read the item open; each used to act, so the item could say "different" over a merge
    done. Now the first to take the item acts and the other is told it was done."""
    someone = resident()
    first = numberless(tax, someone)
    numberless(tax, someone)
    item = ReviewItem.objects.get(kind=ReviewItem.Kind.POSSIBLE_DUPLICATE)
    # Each action waits (up to 2 s) for the other to reach the same point: where both may
    # act, both do; where the item's lock is taken first, the second waits for the first.
    meeting = threading.Barrier(2, timeout=2)
    real_act = review._act

    def act_after_meeting(*args: Any, **kwargs: Any) -> None:
        with contextlib.suppress(threading.BrokenBarrierError):
            meeting.wait()
        real_act(*args, **kwargs)

    monkeypatch.setattr(review, "_act", act_after_meeting)
    actions = [
        {"action": "different", "reason": "別人と確認"},
        {"action": "merge", "representative": first["integrated_number"], "reason": "同一人"},
    ]
    browsers = [signed_in(supervisor) for _ in actions]

    def acting(browser: Any, action: dict[str, str]) -> Callable[[], Any]:
        return lambda: browser.post(f"/review/{item.pk}/act", action)

    answers, errors = run_together(
        [acting(browser, action) for browser, action in zip(browsers, actions, strict=True)]
    )

    assert errors == []
    assert [answer.status_code for answer in answers] == [302, 302]
    acted = AccessRecord.objects.filter(action=AccessAction.REVIEW, outcome="ok")
    assert acted.count() == 1
    item.refresh_from_db()
    assert item.state == ReviewItem.State.CLOSED
    merged = PersonMerge.objects.count()
    assert (item.outcome, merged) in (
        (ReviewItem.Outcome.DIFFERENT, 0),
        (ReviewItem.Outcome.MERGED, 1),
    )


def test_a_clerk_marks_different_and_may_not_merge(tax: KeyedClient, clerk: Any) -> None:
    someone = resident()
    numberless(tax, someone)
    numberless(tax, someone)
    item = ReviewItem.objects.get()
    browser = signed_in(clerk)
    assert browser.post(f"/review/{item.pk}/act", {"action": "merge"}).status_code == 403
    assert not PersonMerge.objects.exists()
    assert browser.post(f"/review/{item.pk}/act", {"action": "later"}).status_code == 302
    item.refresh_from_db()
    assert item.state == ReviewItem.State.IN_REVIEW
    browser.post(f"/review/{item.pk}/act", {"action": "different"})
    item.refresh_from_db()
    assert (item.state, item.outcome, item.closed_by) == (
        ReviewItem.State.CLOSED,
        ReviewItem.Outcome.DIFFERENT,
        "clerk",
    )
    # A closed item is not acted on twice.
    browser.post(f"/review/{item.pk}/act", {"action": "later"})
    item.refresh_from_db()
    assert item.state == ReviewItem.State.CLOSED


def test_a_person_without_a_number_says_so(tax: KeyedClient, clerk: Any) -> None:
    number = numberless(tax, resident())["integrated_number"]
    page = signed_in(clerk).get(f"/persons/{number}/").content.decode()
    assert "未取得" in page and "符号は取得できません" in page


def test_an_administrator_sees_no_review_list(administrator: Any) -> None:
    assert signed_in(administrator).get("/review/").status_code == 403
    assert signed_in(administrator).get("/candidates/", {"name": "山田"}).status_code == 403


def test_the_review_screens_are_complete_in_english(tax: KeyedClient, supervisor: Any) -> None:
    someone = resident()
    numberless(tax, someone)
    numberless(tax, someone)
    browser = signed_in(supervisor)
    browser.cookies["django_language"] = "en"
    listing = browser.get("/review/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Possible duplicate" in listing and "Merge" in listing and "Different persons" in listing
    page = browser.get(
        "/candidates/",
        {"name": someone.name, "birth_date": someone.birth_date.isoformat()},
        HTTP_ACCEPT_LANGUAGE="en",
    ).content.decode()
    assert "Candidates (2)" in page and "exact" in page
    assert "件" not in page and "一致" not in page


def _automatic_merge(tax: KeyedClient) -> tuple[str, str]:
    """A 住基 person, and a 税 person without a number whose number then arrives: merged
    automatically (SPEC 10.1). The representative's and the merged person's numbers."""
    jyuki = backbone_client(number_system="01")
    someone = resident()
    holder = post_change(jyuki, address_change_body(number_system="01", resident=someone)).json()
    body = address_change_body(number_system="02", resident=someone)
    del body["individual_number"]
    merged = post_change(tax, body).json()
    arrives = address_change_body(
        number_system="02", resident=someone, address_number=body["address_number"]
    )
    assert post_change(tax, arrives).status_code == 200
    return holder["integrated_number"], merged["integrated_number"]


def test_a_clerk_confirms_an_automatic_merge(tax: KeyedClient, clerk: Any) -> None:
    _automatic_merge(tax)
    item = ReviewItem.objects.get(kind=ReviewItem.Kind.AUTOMATIC_MERGE)
    assert signed_in(clerk).post(f"/review/{item.pk}/act", {"action": "confirm"}).status_code == 302
    item.refresh_from_db()
    assert (item.state, item.outcome) == (ReviewItem.State.CLOSED, ReviewItem.Outcome.CONFIRMED)
    record = PersonMerge.objects.get()
    assert record.confirmed_by == "clerk" and record.confirmed_at is not None
    assert record.unmerged_at is None


def test_a_supervisor_undoes_an_automatic_merge_and_a_clerk_may_not(
    tax: KeyedClient, clerk: Any, supervisor: Any
) -> None:
    _, merged = _automatic_merge(tax)
    item = ReviewItem.objects.get(kind=ReviewItem.Kind.AUTOMATIC_MERGE)
    assert signed_in(clerk).post(f"/review/{item.pk}/act", {"action": "undo"}).status_code == 403
    assert Person.objects.get(integrated_number=merged).merged_into is not None
    signed_in(supervisor).post(f"/review/{item.pk}/act", {"action": "undo", "reason": "別人"})
    assert Person.objects.get(integrated_number=merged).merged_into is None
    item.refresh_from_db()
    assert (item.state, item.outcome) == (ReviewItem.State.CLOSED, ReviewItem.Outcome.UNMERGED)
    assert PersonMerge.objects.get().unmerge_reason == "別人"


def test_a_merged_person_leaves_the_changed_residents_list(
    tax: KeyedClient, supervisor: Any
) -> None:
    representative, merged = _automatic_merge(tax)
    today = timezone.localdate().isoformat()
    listing = (
        signed_in(supervisor)
        .get("/changed-residents/", {"date_from": today, "date_to": today})
        .content.decode()
    )
    assert representative in listing and merged not in listing
