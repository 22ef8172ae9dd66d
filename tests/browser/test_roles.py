"""A viewer in a real browser: the overview offers no Deploy, the environment no Reveal."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from projects import services
from tests.browser.conftest import PASSWORD


@pytest.fixture
def viewer_page(page: Page, user, other_user) -> Page:
    project = services.create_project(
        user,
        slug="shop",
        repo_url="https://example.com/acme/shop.git",
        members=[(other_user, "viewer")],
    )
    services.add_env_var(project, "SECRET_KEY", "never-shown-to-a-viewer")
    page.goto("/accounts/login/")
    page.fill("input[name=username]", other_user.get_username())
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url("**/")
    return page


def test_a_viewer_reads_the_project_but_is_offered_no_deploy_and_no_reveal(viewer_page: Page):
    viewer_page.goto(reverse("projects:detail", args=["shop"]))
    expect(viewer_page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(viewer_page.get_by_role("button", name="Deploy main")).to_have_count(0)

    viewer_page.goto(reverse("projects:environment", args=["shop"]))
    expect(viewer_page.get_by_text("SECRET_KEY")).to_be_visible()
    expect(viewer_page.get_by_role("button", name="Reveal")).to_have_count(0)
    assert "never-shown-to-a-viewer" not in viewer_page.content()
