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
