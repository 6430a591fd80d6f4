"""The frame of every screen: the favicon, and the links between linkage's screens and the
sandbox's simulated business systems."""

from __future__ import annotations

from typing import Any

from django.test import Client, override_settings
from django.urls import reverse

from tests.residents import signed_in


def test_every_page_names_its_icon_and_favicon_ico_is_answered() -> None:
    login = Client().get(reverse("login")).content.decode()
    assert 'rel="icon"' in login and "favicon.svg" in login
    answer = Client().get("/favicon.ico")
    assert answer.status_code == 301 and answer["Location"].endswith("favicon.svg")


def test_linkage_and_the_simulated_systems_link_to_each_other(clerk: Any) -> None:
    client = signed_in(clerk)
    dashboard = client.get(reverse("home")).content.decode()
    assert 'href="/backbone/"' in dashboard and "業務システム（模擬）へ" in dashboard
    systems = client.get("/backbone/").content.decode()
    assert "情報連携サーバーへ" in systems and f'href="{reverse("home")}"' in systems


@override_settings(SIMULATORS_ENABLED=False)
def test_without_the_sandbox_there_is_no_link_to_it(clerk: Any) -> None:
    dashboard = signed_in(clerk).get(reverse("home")).content.decode()
    assert "業務システム（模擬）へ" not in dashboard


def test_the_language_menu_names_each_language_in_itself() -> None:
    page = Client().get(reverse("login")).content.decode()
    assert '<option value="ja" lang="ja" selected>日本語</option>' in page
    assert '<option value="en" lang="en">English</option>' in page
    assert "英語" not in page
