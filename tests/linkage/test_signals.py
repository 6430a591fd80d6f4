"""Signals (docs/signals.md): every receiver is connected, documented and does what the
table says; numbering opens one code request per new person, in the same transaction."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db import connection, transaction
from django.db.models.signals import post_delete, post_migrate, post_save, pre_migrate
from django.test import Client
from django.test.utils import CaptureQueriesContext

from linkage.events import (
    code_acquisition_files_due,
    code_requests_due,
    codes_acquired,
    copies_due,
    inquiries_due,
    notices_due,
    persons_numbered,
)
from linkage.middleware import LAST_ACTIVITY
from linkage.models import (
    AccessRecord,
    CodeRequest,
    CodeRequestStatus,
    CodeRequestTransition,
    Copy,
    Inquiry,
    Notice,
    Person,
)
from linkage.roles import CLERK, roles_sync
from linkage.services.backbone_clients import receivers_by_number_system
from linkage.services.numbering import integrated_number_issue
from primitives.crypto import blind_index, encrypt_individual_number
from tests.factories import backbone_client

pytestmark = pytest.mark.django_db

DOCS = (Path(settings.BASE_DIR) / "docs" / "signals.md").read_text(encoding="utf-8")


def stored_person(number: str = "983205673214") -> Person:
    index = blind_index(number)
    return Person.objects.create(
        integrated_number=integrated_number_issue(),
        individual_number_index=index,
        individual_number_encrypted=encrypt_individual_number(number, index=index),
    )


def numbered(*persons: Person, cause: str = "person_registered") -> None:
    persons_numbered.send(sender=Person, persons=list(persons), cause=cause)


def test_numbering_opens_each_new_persons_code_request_in_requesting() -> None:
    first, second = stored_person(), stored_person("123456789018")
    numbered(first, second, cause="person_registered (bulk import)")
    for person in (first, second):
        request = CodeRequest.objects.get(person=person)
        assert request.status == CodeRequestStatus.REQUESTING
        transition = CodeRequestTransition.objects.get(code_request=request)
        assert (transition.from_status, transition.to_status, transition.cause) == (
            "not_requested",
            "requesting",
            "person_registered (bulk import)",
        )


def test_saving_a_person_by_itself_opens_no_code_request() -> None:
    person = stored_person()
    person.save()
    assert not CodeRequest.objects.filter(person=person).exists()


def test_numbering_twice_keeps_one_request_and_one_transition() -> None:
    person = stored_person()
    numbered(person)
    numbered(person, cause="again")
    assert CodeRequest.objects.filter(person=person).count() == 1
    assert CodeRequestTransition.objects.count() == 1


def test_persons_the_batch_created_are_not_looked_up_the_others_are() -> None:
    """A person the sending transaction created has no request yet: only the others are
    read, and one of those that has a request keeps it alone."""
    created, stored = stored_person(), stored_person("123456789018")
    numbered(stored)
    with CaptureQueriesContext(connection) as captured:
        persons_numbered.send(
            sender=Person, persons=[created, stored], cause="again", created={created.pk}
        )
    (lookup,) = [
        q["sql"] for q in captured.captured_queries if 'FROM "linkage_coderequest"' in q["sql"]
    ]
    (looked_up,) = re.findall(r"(?:IN \(|ANY\('\{)([\d, ]*)", lookup)  # SQLite, PostgreSQL
    assert {int(pk) for pk in looked_up.split(",")} == {stored.pk}
    assert CodeRequest.objects.filter(person=created).count() == 1
    assert CodeRequestTransition.objects.filter(code_request__person=stored).count() == 1


def test_the_request_rolls_back_with_the_person() -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        numbered(stored_person())
        raise RuntimeError("the storing transaction fails after the person was numbered")
    assert Person.objects.count() == 0
    assert CodeRequest.objects.count() == 0


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[Any, ...]]]:
    """What the receivers hand to Celery (task name, arguments), captured at the broker's
    door after commit."""
    from linkage import tasks

    captured: list[tuple[str, tuple[Any, ...]]] = []
    for name in (
        "code_request_advance",
        "code_requests_advance",
        "code_acquisition_files_drain",
        "code_acquisition_file_send",
        "notice_deliver",
        "copies_deliver",
        "inquiries_ask",
        "copies_drain",
    ):
        task = getattr(tasks, name)
        monkeypatch.setattr(
            task,
            "apply_async",
            lambda args=(), countdown=None, name=name: captured.append((name, tuple(args))),
        )
    return captured


def test_due_code_requests_go_to_the_request_unit_after_commit(
    sent: list[tuple[str, tuple[Any, ...]]], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        code_requests_due.send(sender=CodeRequest, code_request_ids=[7])
        code_requests_due.send(sender=CodeRequest, code_request_ids=list(range(1, 1202)))
        assert sent == []  # nothing before commit
    assert sent[0] == ("code_request_advance", (7,))
    batches = [args[0] for name, args in sent[1:]]
    assert {name for name, _ in sent[1:]} == {"code_requests_advance"}
    assert [len(batch) for batch in batches] == [500, 500, 201]
    assert [pk for batch in batches for pk in batch] == list(range(1, 1202))


def test_due_files_and_notices_go_to_their_tasks_after_commit(
    sent: list[tuple[str, tuple[Any, ...]]], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        code_acquisition_files_due.send(sender=CodeRequest, drain=True, file_ids=[3, 4])
        notices_due.send(sender=Notice, notice_ids=[11, 12])
    assert sent == [
        ("code_acquisition_files_drain", ()),
        ("code_acquisition_file_send", (3,)),
        ("code_acquisition_file_send", (4,)),
        ("notice_deliver", (11,)),
        ("notice_deliver", (12,)),
    ]


def test_due_copies_and_inquiries_go_to_their_tasks_in_batches_after_commit(
    sent: list[tuple[str, tuple[Any, ...]]],
    django_capture_on_commit_callbacks: Any,
    settings: Any,
) -> None:
    settings.COPY_BATCH = 2
    settings.INQUIRY_BATCH = 2
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        copies_due.send(sender=Copy, copy_ids=[5, 6, 7])
        assert sent == []
    assert sent == [("copies_deliver", ([5, 6],)), ("copies_deliver", ([7],))]
    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        inquiries_due.send(sender=Inquiry, inquiry_ids=[8, 9, 10])
    assert sent == [("inquiries_ask", ([8, 9],)), ("inquiries_ask", ([10],))]
    # A copy at a time (the API's) joins the next drain, one task for all that is due then;
    # an inquiry at a time is asked at once (answered while it is asked: in parallel).
    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        copies_due.send(sender=Copy, copy_ids=[11])
        inquiries_due.send(sender=Inquiry, inquiry_ids=[12])
    assert sent == [("copies_drain", ()), ("inquiries_ask", ([12],))]


def test_nothing_is_handed_over_when_the_transaction_rolls_back(
    sent: list[tuple[str, tuple[Any, ...]]], django_capture_on_commit_callbacks: Any
) -> None:
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        notices_due.send(sender=Notice, notice_ids=[11])
        raise RuntimeError("the cause rolls back")
    assert sent == []


def test_a_failed_sign_in_is_recorded_with_the_name_tried() -> None:
    Client().post("/accounts/login/", {"username": "someone", "password": "wrong"})
    record = AccessRecord.objects.get(action="sign_in_failed")
    assert record.username == "someone"


def test_a_sign_in_starts_the_idle_clock(clerk: Any) -> None:
    client = Client()
    client.post(
        "/accounts/login/", {"username": "clerk", "password": "correct horse battery staple"}
    )
    assert LAST_ACTIVITY in client.session


def test_a_client_saved_or_deleted_here_counts_at_once_for_notices(settings: Any) -> None:
    settings.BACKBONE_CLIENTS_CACHE_SECONDS = 3600
    tax = backbone_client(number_system="02", name="税").client
    assert receivers_by_number_system(["02"]) == {"02": []}  # read, and kept for an hour
    tax.callback_url = "http://192.0.2.1/notices"
    tax.save(update_fields=["callback_url"])
    assert receivers_by_number_system(["02"]) == {"02": [tax]}
    tax.delete()
    assert receivers_by_number_system(["02"]) == {"02": []}


def test_migrate_gives_the_roles_back_their_permissions() -> None:
    group = Group.objects.get(name=CLERK)
    group.permissions.add(Permission.objects.get(codename="reveal_individual_number"))
    roles_sync()  # the post_migrate receiver, as every migrate calls it
    assert not group.permissions.filter(codename="reveal_individual_number").exists()


@pytest.mark.parametrize(
    ("signal", "uid"),
    [
        (persons_numbered, "linkage.persons_numbered_code_requests"),
        (code_requests_due, "linkage.code_requests_due_advance"),
        (code_acquisition_files_due, "linkage.code_acquisition_files_send"),
        (notices_due, "linkage.notices_due_deliver"),
        (codes_acquired, "linkage.codes_acquired_copies_release"),
        (copies_due, "linkage.copies_due_deliver"),
        (codes_acquired, "linkage.codes_acquired_inquiries_release"),
        (inquiries_due, "linkage.inquiries_due_ask"),
        (user_login_failed, "linkage.sign_in_failed_recorded"),
        (user_logged_in, "linkage.sign_in_starts_activity"),
        (post_migrate, "linkage.roles_sync"),
        (pre_migrate, "linkage.migrations_unbounded"),
        (post_save, "linkage.backbone_client_saved"),
        (post_delete, "linkage.backbone_client_deleted"),
        (post_save, "linkage.business_label_saved"),
        (post_delete, "linkage.business_label_deleted"),
    ],
)
def test_every_receiver_is_connected_and_documented(signal: Any, uid: str) -> None:
    assert uid in [lookup_key[0] for lookup_key, *_ in signal.receivers]
    assert f"`{uid}`" in DOCS


def test_the_documented_receivers_are_all_there_are() -> None:
    """No receiver of linkage's is missing from the table."""
    documented = set(re.findall(r"\(`(linkage\.[a-z_]+)`", DOCS))
    connected = {
        lookup_key[0]
        for signal in (
            persons_numbered,
            code_requests_due,
            code_acquisition_files_due,
            notices_due,
            codes_acquired,
            copies_due,
            inquiries_due,
            user_login_failed,
            user_logged_in,
            post_migrate,
            pre_migrate,
            post_save,
            post_delete,
        )
        for lookup_key, *_ in signal.receivers
        if isinstance(lookup_key[0], str) and lookup_key[0].startswith("linkage.")
    }
    assert connected == documented
