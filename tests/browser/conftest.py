"""Browser tests: Playwright drives Debian's Chromium against the live server.

`make chromium` installs the browser; CHROMIUM_PATH points elsewhere. Screenshots go to a
temporary folder, or to docs/screenshots/ with `make screenshots` (LINKAGE_SCREENSHOTS=1).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture(scope="package")
def playwright_instance() -> Iterator[Playwright]:
    """Playwright's sync API keeps an event loop running in this thread while it is up, so
    Django's guard against ORM calls from async code is lifted for the browser tests' own
    database work (the server side runs in the live server's threads as usual); both end
    with this package."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as instance:
            yield instance
    finally:
        if previous is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="package")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make chromium` or set CHROMIUM_PATH")
    browser = playwright_instance.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--lang=ja-JP"],
    )
    yield browser
    browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser profile in Japanese. Every page it shows must keep to the Content
    Security Policy: a blocked script or style fails the test."""
    context = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    expected: list[str] = []
    page.csp_expected = expected  # type: ignore[attr-defined]  # what a test expects refused
    page.csp_violations = violations  # type: ignore[attr-defined]  # (accessibility_findings)
    yield page
    context.close()
    unexpected = [text for text in violations if not any(part in text for part in expected)]
    assert unexpected == [], unexpected


@pytest.fixture
def screenshot(page: Page, tmp_path: Path) -> Callable[[str], Path]:
    folder = (
        Path(settings.BASE_DIR) / "docs" / "screenshots"
        if os.environ.get("LINKAGE_SCREENSHOTS")
        else tmp_path
    )
    folder.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def sign_in(page: Page, base_url: str, username: str, password: str, next_path: str) -> None:
    page.goto(f"{base_url}/accounts/login/?next={next_path}")
    page.get_by_label("ユーザー名").fill(username)
    page.get_by_label("パスワード").fill(password)
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url(f"{base_url}{next_path}")


def live_url(live_server: Any) -> str:
    return str(live_server.url)


AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.1 A and AA, as axe-core tags them.
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
_AXE_RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
  return result.violations
    .filter((violation) => ["serious", "critical"].includes(violation.impact))
    .map((violation) => ({
      id: violation.id,
      impact: violation.impact,
      help: violation.help,
      nodes: violation.nodes.slice(0, 5).map((node) => node.target.join(" ")),
    }));
}"""


def accessibility_findings(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical WCAG 2.1 AA findings on the page as it is now. The
    engine is evaluated through the DevTools protocol, which the page's Content Security
    Policy does not govern, so the policy stays as strict as in production."""
    if not AXE.exists():
        pytest.fail(f"axe-core not found at {AXE}: run `make test` (npm ci) first")
    violations: list[str] = page.csp_violations  # type: ignore[attr-defined]
    before = len(violations)
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    findings: list[dict[str, Any]] = page.evaluate(_AXE_RUN, WCAG_21_AA)
    # axe measures contrast with inline styles of its own, which the policy refuses; those
    # refusals are axe's, not the page's (any the page caused before the run stay).
    violations[before:] = [
        text for text in violations[before:] if "Applying inline style" not in text
    ]
    return findings
