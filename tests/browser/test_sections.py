"""A project's sections in a real browser: every one at desktop and phone width, the overview's
first screen, the nav boosted by htmx with the back button, and the same without JavaScript.

No worker or Docker engine is needed: the project's builds and live deployment are rows.
Screenshots go to a temporary folder; with DEPLOYER_UPDATE_SCREENSHOTS=1 to docs/screenshots/.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, Page, expect

from builds.models import Build
from monitoring.models import HealthEvent
from projects import audit, sections, services
from projects.models import AuditEntry
from tests.browser.conftest import PASSWORD
from tests.unit.builds.test_views import SHA2, live_build, make_build

SCREENSHOTS = (
    Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    if os.environ.get("DEPLOYER_UPDATE_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "deployer-screenshots"
)
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def tour(user):
    """A live project with some history: builds, a health event, audit entries."""
    project = services.create_project(user, slug="tour", repo_url="https://example.com/a/b.git")
    live_build(project, triggered_by=user, commit_author="Ada Lovelace")
    make_build(project, Build.State.FAILED, commit_sha=SHA2, failure_reason="pip failed")
    HealthEvent.objects.create(project=project, kind=HealthEvent.Kind.DEPLOYED, reason="Went live.")
    for key in ("DATABASE_URL", "SECRET_KEY", "DEBUG"):
        audit.record(project, AuditEntry.Action.ENV_ADD, actor=user, summary=key)
    return project


def url_of(key: str, project) -> str:
    return reverse(sections.BY_KEY[key].url_name, args=[project.slug])


def nav(page: Page):
    return page.locator("nav.section-nav")


def expect_current(page: Page, key: str) -> None:
    label = sections.BY_KEY[key].label
    expect(nav(page).locator('[aria-current="page"]')).to_have_text(label)
    expect(nav(page).locator('[aria-current="page"]')).to_have_count(1)


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_every_section_opens_marks_itself_and_keeps_the_nav_reachable(
    logged_in_page: Page, tour, size
):
    page = logged_in_page
    page.set_viewport_size(size)

    for section in sections.SECTIONS:
        response = page.goto(url_of(section.key, tour))
        assert response.status == 200, section.key
        expect(page.locator("h1")).to_contain_text("tour")
        expect_current(page, section.key)
        # Every section stays one tap away, on the screen, without a sideways scroll.
        for link in nav(page).get_by_role("link").all():
            expect(link).to_be_visible()
            box = link.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= size["width"], section.key
        assert page.evaluate("document.documentElement.scrollWidth") <= size["width"], section.key
        screenshot(page, f"section-{section.key}-{size['width']}.png")


def test_the_overview_answers_the_first_questions_above_the_fold(logged_in_page: Page, tour):
    page = logged_in_page
    page.set_viewport_size(DESKTOP)
    page.goto(url_of("overview", tour))

    facts = {
        "state": page.locator("#overview-state"),
        "address": page.locator("#overview-address a").first,
        "live build": page.locator("#overview-live"),
        "health": page.locator("#overview-health"),
        "events": page.locator(f"#project-{tour.pk}-events li").last,
        "deploy": page.get_by_role("button", name="Deploy main"),
    }
    expect(facts["live build"]).to_contain_text("Ada Lovelace")
    expect(facts["state"]).to_contain_text("Live")
    for what, locator in facts.items():
        expect(locator).to_be_visible()
        box = locator.bounding_box()
        assert box["y"] + box["height"] <= DESKTOP["height"], f"{what} is below the fold: {box}"
    expect(page.locator(f"#project-{tour.pk}-events")).to_contain_text("Variable added")


def test_the_nav_is_boosted_and_back_and_forward_work(logged_in_page: Page, tour):
    page = logged_in_page
    page.set_viewport_size(DESKTOP)
    page.goto(url_of("overview", tour))
    page.evaluate("window.__samePage = true")

    nav(page).get_by_role("link", name="Deployments").click()
    page.wait_for_url(f"**{url_of('deployments', tour)}")
    expect_current(page, "deployments")
    expect(page.locator(f"#project-{tour.pk}-deployments")).to_contain_text(SHA2[:8])
    expect(page).to_have_title("Deployments · tour · Deployer")

    nav(page).get_by_role("link", name="Settings").click()
    page.wait_for_url(f"**{url_of('settings', tour)}")
    expect_current(page, "settings")
    expect(page.locator("#build-settings")).to_be_visible()
    assert page.evaluate("window.__samePage") is True  # htmx swapped the page, no reload

    page.go_back()
    page.wait_for_url(f"**{url_of('deployments', tour)}")
    expect_current(page, "deployments")
    expect(page.locator(f"#project-{tour.pk}-deployments")).to_contain_text(SHA2[:8])
    page.go_back()
    page.wait_for_url(f"**{url_of('overview', tour)}")
    expect_current(page, "overview")
    expect(page.locator("#overview-live")).to_contain_text("Ada Lovelace")
    page.go_forward()
    page.wait_for_url(f"**{url_of('deployments', tour)}")
    expect_current(page, "deployments")
    expect(page.locator(f"#project-{tour.pk}-deployments")).to_be_visible()
    assert page.evaluate("window.__samePage") is True


def test_the_sections_work_without_javascript(browser: Browser, live_server, user, tour):
    context = browser.new_context(
        base_url=live_server.url, java_script_enabled=False, viewport=PHONE
    )
    page = context.new_page()
    page.goto("/accounts/login/")
    page.fill("input[name=username]", user.get_username())
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.get_by_role("link", name="tour", exact=True).click()
    expect_current(page, "overview")

    for section in sections.SECTIONS[1:]:
        nav(page).get_by_role("link", name=section.label).click()
        page.wait_for_url(f"**{url_of(section.key, tour)}")
        expect_current(page, section.key)
    page.go_back()
    page.wait_for_url(f"**{url_of(sections.SECTIONS[-2].key, tour)}")
    expect(page.locator("#activity")).to_contain_text("Variable added")
    context.close()


def test_a_variable_added_on_its_page_shows_in_activity_without_its_value(
    logged_in_page: Page, tour
):
    secret = "hunter2-value-never-in-activity"
    page = logged_in_page
    page.set_viewport_size(DESKTOP)
    page.goto(url_of("environment", tour))
    page.fill("#env-add-key", "API_TOKEN")
    page.fill("#env-add-value", secret)
    page.get_by_role("button", name="Add variable").click()
    expect(page.locator(".env-row", has_text="API_TOKEN").first).to_be_visible()

    nav(page).get_by_role("link", name="Activity").click()
    page.wait_for_url(f"**{url_of('activity', tour)}")

    entry = page.locator("#activity").get_by_text("API_TOKEN").first
    expect(entry).to_be_visible()
    expect(page.locator("#activity")).to_contain_text("Variable added")
    expect(page.locator("#activity")).to_contain_text(tour.owner.get_username())
    assert secret not in page.content()
