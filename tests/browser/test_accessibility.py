"""Every screen against WCAG 2.1 AA, as axe-core checks it in Chromium: no serious or
critical finding on any screen a clerk, a supervisor or an administrator opens, in either
language (issue: labels tied to inputs, contrast, names of controls, document language)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from backbone.models import BusinessSystem
from linkage.models import CodeRequest, CodeRequestStatus
from tests.conftest import PASSWORD
from tests.factories import resident

from .conftest import accessibility_findings, sign_in
from .test_backbone_screens import register_in


@pytest.fixture
def residents(systems: dict[str, BusinessSystem], live_server: Any, page: Page, clerk: Any) -> str:
    """Two residents registered through the simulated 住基 screen; one code request failed."""
    base = live_server.url
    sign_in(page, base, "clerk", PASSWORD, "/backbone/")
    first = register_in(page, base, "01", resident())
    register_in(page, base, "01", resident())
    CodeRequest.objects.filter(person__integrated_number=first).update(
        status=CodeRequestStatus.ERROR,
        last_error="individual number not registered in the national resident register",
    )
    page.context.clear_cookies()
    return first


def screens(integrated_number: str) -> list[str]:
    from backbone.models import HouseholdRecord
    from linkage.models import AddressVersion

    record = HouseholdRecord.objects.order_by("pk").first()
    version = AddressVersion.objects.filter(person__integrated_number=integrated_number).first()
    assert record is not None and version is not None
    return [
        f"/backbone/01/{record.address_number}/",
        f"/candidates/?name={version.name}",  # with its candidates
        "/",
        "/persons/",
        "/persons/?name=%E3%82%A2",  # results
        f"/persons/{integrated_number}/",
        f"/persons/{integrated_number}/correct",
        f"/persons/{integrated_number}/exchange-records/",
        "/exchange/waiting/",
        "/changed-residents/",
        "/candidates/",
        "/review/",
        "/code-requests/errors/",
        "/audit/",
        "/audit/?action=person_view",
        "/backbone/",
        "/backbone/01/",
        "/backbone/01/new",
    ]


def test_no_serious_or_critical_finding_on_any_screen(
    residents: str, live_server: Any, page: Page, supervisor: Any, settings: Any
) -> None:
    base = live_server.url
    # The exchange records are read from the simulated intermediate server, served here.
    settings.PEER_URLS = {**settings.PEER_URLS, "intermediate": f"{base}/sim/intermediate"}
    page.goto(f"{base}/accounts/login/")
    found = {"/accounts/login/": accessibility_findings(page)}
    sign_in(page, base, "supervisor-1", PASSWORD, "/")
    for path in screens(residents):
        response = page.goto(f"{base}{path}")
        assert response is not None and response.status == 200, path
        found[path] = accessibility_findings(page)
    # The person page with the number revealed, and the correction's confirmation.
    page.goto(f"{base}/persons/{residents}/")
    page.get_by_label("利用目的").select_option(index=1)
    page.get_by_role("button", name="表示する").click()
    expect(page.locator("[data-revealed]")).to_have_count(1)
    found["person, revealed"] = accessibility_findings(page)
    page.goto(f"{base}/persons/{residents}/correct")
    page.get_by_label("住所").fill("横浜市中区本町1-1")
    page.get_by_label("訂正理由").fill("申出による訂正")
    page.get_by_role("button", name="確認へ進む").click()
    found["correction, confirmation"] = accessibility_findings(page)
    # English too.
    page.goto(f"{base}/")
    with page.expect_navigation():
        page.get_by_label("Language").select_option("en")
    found["/ (English)"] = accessibility_findings(page)
    page.goto(f"{base}/persons/{residents}/")
    found["person (English)"] = accessibility_findings(page)
    serious = {path: findings for path, findings in found.items() if findings}
    assert serious == {}, serious


def test_the_admin_has_no_serious_or_critical_finding(
    live_server: Any, page: Page, administrator: Any
) -> None:
    base = live_server.url
    sign_in(page, base, "administrator", PASSWORD, "/admin/")
    found = {}
    for path in ("/admin/", "/admin/auth/user/", "/admin/linkage/businesslabel/add/"):
        response = page.goto(f"{base}{path}")
        assert response is not None and response.status == 200, path
        found[path] = accessibility_findings(page)
    serious = {path: findings for path, findings in found.items() if findings}
    assert serious == {}, serious
