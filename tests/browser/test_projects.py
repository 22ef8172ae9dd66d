from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from projects import services
from projects.models import Project
from tests.integration.conftest import wait_until

ENV_FILE = """# pasted from a .env
export DATABASE_URL=postgres://app:db-pass-123@db/app
SECRET_KEY='s3cret-django-key'
DEBUG=false # inline comment
"""


def test_create_a_project_paste_env_edit_a_value_in_place_and_delete_it(
    logged_in_page: Page, settings, celery_worker
):
    settings.DEPLOYER_ALLOW_LOCAL_REPOS = True
    page = logged_in_page

    page.get_by_role("link", name="New project").click()
    page.fill("input[name=slug]", "journey")
    page.fill("input[name=repo_url]", "/tmp/journey-repo")
    page.get_by_role("button", name="Create project").click()
    page.wait_for_url("**/projects/journey/")
    sections = page.locator("nav.section-nav")
    sections.get_by_role("link", name="Settings").click()
    expect(page.locator("#project-settings")).to_contain_text("/tmp/journey-repo")
    sections.get_by_role("link", name="Environment").click()
    page.wait_for_url("**/projects/journey/environment/")

    page.evaluate("window.__stillTheSamePage = true")

    page.locator("#env-import summary").click()
    page.fill("textarea[name=env_file]", ENV_FILE)
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#env-list .env-row")).to_have_count(3)
    expect(page.locator("#env-editor")).to_contain_text("Imported 3 variables")
    content = page.content()
    assert "db-pass-123" not in content
    assert "s3cret-django-key" not in content

    project = Project.objects.get(slug="journey")
    row = page.locator(f"#env-{project.env_vars.get(key='SECRET_KEY').pk}")
    row.get_by_role("link", name="Edit").click()
    row.locator("input[name=value]").fill("rotated-in-place")
    row.get_by_role("button", name="Save").click()
    expect(row.locator(".masked")).to_be_visible()
    assert services.runtime_environment(project)["SECRET_KEY"] == "rotated-in-place"

    row.get_by_role("button", name="Reveal").click()
    expect(row.locator(".revealed")).to_have_text("rotated-in-place")
    row.get_by_role("link", name="Hide").click()
    expect(row.locator(".masked")).to_be_visible()

    page.fill("#env-add input[name=key]", "BAD-KEY")
    page.get_by_role("button", name="Add variable").click()
    expect(page.locator("#env-add")).to_contain_text("not a valid variable name")
    page.fill("#env-add input[name=key]", "FEATURE_FLAG")
    page.fill("#env-add input[name=value]", "on")
    page.get_by_role("button", name="Add variable").click()
    expect(page.locator("#env-list .env-row")).to_have_count(4)
    expect(page.locator("#env-add input[name=key]")).to_have_value("")

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(".env-row", has_text="DEBUG").get_by_role("button", name="Delete").click()
    expect(page.locator("#env-list .env-row")).to_have_count(3)

    assert page.evaluate("window.__stillTheSamePage") is True

    sections.get_by_role("link", name="Settings").click()
    page.get_by_role("link", name="Delete journey…").click()
    page.get_by_role("button", name="Delete journey").click()
    page.wait_for_url(re.compile(r"/$"))
    expect(page.locator(".messages")).to_contain_text("Project journey is being deleted")
    # The worker removes what the engine holds for it, then the project.
    wait_until(lambda: not Project.objects.filter(slug="journey").exists(), timeout=60)
