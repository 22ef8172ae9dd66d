"""Playwright (sync API) against pytest-django's live_server, in Debian's Chromium.

Fixtures for every browser test: `browser` (one Chromium per session), `page` (a fresh
context whose base URL is the live server) and `logged_in_page` (the `user` fixture, logged in
through the real login form). No browser is ever downloaded.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse battery"  # the password of the `user` fixture in tests/conftest.py


@pytest.fixture(scope="package", autouse=True)
def _sync_orm_beside_playwright() -> Iterator[None]:
    """Playwright's sync API runs an event loop in this thread; the ORM calls made by fixtures,
    assertions and the database flush after each test are still synchronous and safe here.

    Package-scoped: set before pytest-django's fixtures and undone after the last browser
    test, so it never leaks into other tests (it fails `check --deploy`)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, live_server) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def logged_in_page(page: Page, user) -> Page:
    page.goto("/accounts/login/")
    page.fill("input[name=username]", user.get_username())
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url("**/")
    return page


# Journeys that deploy for real (tests/browser/test_deploy_journey.py) use the integration
# fixtures: a Celery worker process on the test database, git repositories, Docker cleanup.
# All of them are re-exported, so a fixture the integration suite adds is found here too.
# Such tests must use `transactional_db` so the worker and the live server see their rows.
from tests.integration.conftest import *  # noqa: E402, F403
