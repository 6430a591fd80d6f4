"""The admin pages IT staff use for business systems and their notices."""

from __future__ import annotations

from typing import Any

from django.test import Client

from linkage.models import BackboneClient, Notice
from tests.conftest import post_change
from tests.factories import address_change_body, backbone_client


def superuser_browser(django_user_model: Any) -> Client:
    user = django_user_model.objects.create_superuser("it-admin", password="admin-pass-2026")
    browser = Client()
    browser.force_login(user)
    return browser


def change_url(client: BackboneClient) -> str:
    return f"/admin/linkage/backboneclient/{client.pk}/change/"


def test_an_administrator_sets_a_callback_url_and_only_http_is_taken(
    django_user_model: Any,
) -> None:
    browser = superuser_browser(django_user_model)
    keyed = backbone_client(number_system="02")
    form = {"callback_url": "", "revoked_at_0": "", "revoked_at_1": ""}

    refused = browser.post(change_url(keyed.client), {**form, "callback_url": "ftp://tax.lg.jp/"})
    assert refused.status_code == 200
    assert "callback_url" in refused.context["adminform"].form.errors
    keyed.client.refresh_from_db()
    assert keyed.client.callback_url == ""

    taken = browser.post(
        change_url(keyed.client), {**form, "callback_url": "https://tax.lg.jp/notices"}
    )
    assert taken.status_code == 302
    keyed.client.refresh_from_db()
    assert keyed.client.callback_url == "https://tax.lg.jp/notices"


def test_notices_are_listed_read_only_without_their_payload(django_user_model: Any) -> None:
    browser = superuser_browser(django_user_model)
    keyed = backbone_client(number_system="01", callback_url="http://127.0.0.1:9/notices")
    post_change(keyed, address_change_body())
    notice = Notice.objects.get()

    listing = browser.get("/admin/linkage/notice/?status__exact=pending")
    assert listing.status_code == 200
    assert "integrated_number.assigned" in listing.content.decode()
    detail = browser.get(f"/admin/linkage/notice/{notice.pk}/change/").content.decode()
    assert notice.person.integrated_number in detail
    assert "payload" not in detail
    assert browser.post(f"/admin/linkage/notice/{notice.pk}/delete/").status_code == 403


def test_the_administrator_role_revokes_a_staff_token_and_it_stops_working(
    administrator: Any, clerk: Any
) -> None:
    from linkage.models import StaffToken
    from linkage.services.backbone_clients import staff_token_create
    from tests.conftest import api_for
    from tests.residents import signed_in

    token, key = staff_token_create(user=clerk, name="nightly export")
    api = api_for(None)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert api.get("/api/v1/code-requests").status_code == 200

    browser = signed_in(administrator)
    listing = browser.get("/admin/linkage/stafftoken/").content.decode()
    assert "nightly export" in listing and key not in listing
    assert browser.get("/admin/linkage/stafftoken/add/").status_code == 403
    revoked = browser.post(
        f"/admin/linkage/stafftoken/{token.pk}/change/",
        {"revoked_at_0": "2026-11-26", "revoked_at_1": "10:00:00"},
    )
    assert revoked.status_code == 302
    assert StaffToken.objects.get(pk=token.pk).revoked_at is not None
    assert api.get("/api/v1/code-requests").status_code == 401


def test_the_admin_names_models_and_fields_in_japanese(django_user_model: Any) -> None:
    """Models, fields and the history models as the rest of the screens name them."""
    from django.db import connection

    browser = superuser_browser(django_user_model)
    keyed = backbone_client(number_system="01")
    post_change(keyed, address_change_body(number_system="01"))
    index = browser.get("/admin/").content.decode()
    for name in (
        "宛名情報の変更履歴",
        "統合宛名の変更履歴",
        "符号取得依頼の変更履歴",
        "業務項目の表示名",
    ):
        assert name in index, name
    assert "Address version events" not in index and "Person events" not in index
    clients = browser.get("/admin/linkage/backboneclient/").content.decode()
    assert "キーの先頭" in clients and "作成日時" in clients and "Key prefix" not in clients
    if connection.vendor == "postgresql":  # the history triggers: events to list and open
        from django.apps import apps

        history = browser.get("/admin/linkage/addressversionevent/").content.decode()
        header = history.split("<thead>")[1].split("</thead>")[0]
        assert "記録日時" in header and "操作" in header and "pgh" not in header.lower()
        event = apps.get_model("linkage", "AddressVersionEvent").objects.first()
        assert event is not None
        detail = browser.get(f"/admin/linkage/addressversionevent/{event.pk}/change/")
        text = detail.content.decode()
        assert detail.status_code == 200 and "記録日時" in text and "Pgh" not in text
