"""The roles as groups (applied by every migrate) and what each may open."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from linkage.roles import ADMINISTRATOR, CLERK, ROLES, SUPERVISOR, role_permissions, roles_sync
from tests.residents import signed_in


def codenames(group: str) -> set[str]:
    return {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Group.objects.get(name=group).permissions.select_related("content_type")
    }


@pytest.mark.django_db
def test_migrate_made_the_three_groups_with_exactly_their_permissions() -> None:
    for role in ROLES:
        assert codenames(role) == set(role_permissions(role))
    # The sandbox's business systems are installed in the tests: clerks work them.
    assert "backbone.operate_business_system" in codenames(CLERK)
    assert "backbone.operate_business_system" not in codenames(ADMINISTRATOR)
    assert not {name for name in codenames(ADMINISTRATOR) if name.startswith("linkage.view_p")}
    assert "linkage.reveal_individual_number" not in codenames(CLERK)
    assert "linkage.reveal_individual_number" in codenames(SUPERVISOR)
    assert "linkage.reveal_individual_number" not in codenames(ADMINISTRATOR)


@pytest.mark.django_db
def test_a_permission_added_by_hand_is_taken_back_by_the_next_sync() -> None:
    from django.contrib.auth.models import Permission

    clerk = Group.objects.get(name=CLERK)
    clerk.permissions.add(Permission.objects.get(codename="reveal_individual_number"))
    roles_sync()
    assert codenames(CLERK) == set(role_permissions(CLERK))


SCREENS: list[tuple[str, list[str]]] = [
    ("home", []),
    ("person_search", []),
    ("changed_residents", []),
    ("code_request_errors", []),
]


@pytest.mark.parametrize(("name", "args"), SCREENS)
def test_every_screen_needs_a_sign_in(db: None, name: str, args: list[str]) -> None:
    response = Client().get(reverse(name, args=args))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(("name", "args"), SCREENS)
def test_a_user_without_a_role_is_refused_every_screen(
    db: None, name: str, args: list[str]
) -> None:
    nobody = User.objects.create_user("no-role", password="x")
    response = signed_in(nobody).get(reverse(name, args=args))
    assert response.status_code == 403
    assert "権限がありません" in response.content.decode()


def test_only_the_administrator_enters_the_admin_site(
    clerk: Any, supervisor: Any, administrator: Any
) -> None:
    for user in (clerk, supervisor):
        response = signed_in(user).get("/admin/")
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    admin = signed_in(administrator)
    assert admin.get("/admin/").status_code == 200
    assert admin.get("/admin/auth/user/").status_code == 200
    assert admin.get("/admin/linkage/backboneclient/").status_code == 200
    # History tables are read-only, even to the administrator.
    assert admin.get("/admin/linkage/addressversion/add/").status_code == 403
    assert admin.get("/admin/linkage/coderequesttransition/add/").status_code == 403


def test_the_menu_shows_what_the_role_may_use(clerk: Any, administrator: Any) -> None:
    clerk_menu = signed_in(clerk).get(reverse("person_search")).content.decode()
    assert "宛名検索" in clerk_menu and "管理サイト" not in clerk_menu
    admin_menu = signed_in(administrator).get(reverse("person_search")).content.decode()
    assert "管理サイト" in admin_menu


@pytest.mark.parametrize(
    ("path", "heading"),
    [
        ("/", "Dashboard"),
        ("/persons/", "Person search"),
        ("/changed-residents/", "Changed residents"),
        ("/code-requests/errors/", "Error list"),
    ],
)
def test_every_screen_reads_in_english(supervisor: Any, path: str, heading: str) -> None:
    from django.conf import settings

    client = signed_in(supervisor)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    text = client.get(path).content.decode()
    assert f"<h1>{heading}" in text
    assert '<html lang="en">' in text
    for japanese in ("ダッシュボード", "宛名検索", "異動者一覧", "エラー一覧", "ログアウト"):
        assert japanese not in text, japanese


def test_the_person_and_correction_screens_read_in_english(
    supervisor: Any, jyuki: Any, tax: Any
) -> None:
    from django.conf import settings

    from tests.residents import hanako_registered

    hanako = hanako_registered(jyuki, tax)
    client = signed_in(supervisor)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    person = client.get(reverse("person", args=[hanako.integrated_number])).content.decode()
    for english in ("Current basic information", "Version history", "Address numbers", "Reveal"):
        assert english in person, english
    correction = client.get(
        reverse("person_correction", args=[hanako.integrated_number])
    ).content.decode()
    assert "Correct the basic information" in correction
    assert "Reason for correction" in correction
