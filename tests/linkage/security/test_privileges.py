"""Cross-tenant and privilege boundaries, in one place (docs/security.md refers here)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from linkage.models import CodeRequest, CodeRequestStatus
from tests.conftest import api_for, bearer, post_change
from tests.factories import KeyedClient, address_change_body
from tests.residents import hanako_registered, register, signed_in


def test_a_tax_key_cannot_read_or_write_what_belongs_to_the_resident_register(
    jyuki: KeyedClient, tax: KeyedClient
) -> None:
    only_jyuki = register(jyuki)
    read = api_for(tax).get(f"/api/v1/persons/{only_jyuki.integrated_number}")
    assert read.status_code == 404  # not even told the person exists
    as_jyuki = post_change(tax, address_change_body(number_system="01"))
    assert as_jyuki.status_code == 403
    for staff_endpoint in ("/api/v1/persons?name=x", "/api/v1/code-requests"):
        assert api_for(tax).get(staff_endpoint).status_code in (401, 403)


def test_a_staff_token_is_not_a_business_system_key(clerk: Any, jyuki: KeyedClient) -> None:
    person = register(jyuki)
    client = bearer(clerk)
    assert client.post(
        "/api/v1/address-changes", address_change_body(), format="json"
    ).status_code in (
        401,
        403,
    )
    assert client.get(f"/api/v1/persons/{person.integrated_number}").status_code in (401, 403)


def test_a_clerk_cannot_reveal_export_re_request_read_the_audit_or_open_the_admin(
    jyuki: KeyedClient, tax: KeyedClient, clerk: Any
) -> None:
    hanako = hanako_registered(jyuki, tax)
    code_request = CodeRequest.objects.get(person=hanako.person)
    CodeRequest.objects.filter(pk=code_request.pk).update(status=CodeRequestStatus.ERROR)
    browser = signed_in(clerk)
    refused = {
        "reveal": browser.post(reverse("person_reveal", args=[hanako.integrated_number])),
        "export": browser.get(
            reverse("changed_resident_export"),
            {"date_from": "2026-01-01", "date_to": "2026-12-31", "encoding": "utf-8"},
        ),
        "re-request": browser.post(
            reverse("code_request_errors_retry"), {"code_request": [code_request.pk]}
        ),
        "audit": browser.get(reverse("access_records")),
        "moved-residents API": bearer(clerk).get(
            "/api/v1/moved-residents", {"from": "2026-01-01", "to": "2026-01-02"}
        ),
    }
    statuses = {name: response.status_code for name, response in refused.items()}
    assert statuses == dict.fromkeys(refused, 403)
    admin = browser.get("/admin/")
    assert admin.status_code == 302 and "/admin/login/" in admin["Location"]
    code_request.refresh_from_db()
    assert code_request.status == CodeRequestStatus.ERROR
    assert all(hanako.individual_number.encode() not in r.getvalue() for r in refused.values())
