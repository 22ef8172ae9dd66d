"""The whole deploy journey in a real browser, on a real worker, Docker engine and git repository.

Log in, create a project from a local repository, deploy, watch the log stream in and the
state turn Live without a reload, deploy a second commit, roll back. Screenshots of the
pages go to a temporary folder; with DEPLOYER_UPDATE_SCREENSHOTS=1 they replace the README's
in docs/screenshots/ (tracked files are never rewritten by an ordinary test run).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from builds.models import Build, Deployment
from tests.browser.conftest import PASSWORD
from tests.integration.apps import FLASK_APP
from tests.integration.conftest import http_get, remove_labelled

pytestmark = pytest.mark.usefixtures("transactional_db")

SCREENSHOTS = (
    Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    if os.environ.get("DEPLOYER_UPDATE_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "deployer-screenshots"
)
BUILD_TIMEOUT = 300_000  # ms: the first build installs Flask from the package index
PHONE = {"width": 390, "height": 844}
# Tables and fields fit the screen: no box needs a sideways scroll (code blocks may, and a
# field scrolls its own long value).
SIDEWAYS_SCROLLERS = """
  [...document.querySelectorAll("main *")]
    .filter((e) => !e.closest("pre, .log, textarea, input, .visually-hidden"))
    .filter((e) => e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX !== "visible")
    .map((e) => `${e.tagName.toLowerCase()}#${e.id}.${e.className} ${e.scrollWidth}>${e.clientWidth}`)
"""


# A release step that takes a few seconds and prints as it goes (as migrations do): the build
# is still running, whatever the caches, while the page shows its log arriving.
JOURNEY_APP = {
    **FLASK_APP,
    "Procfile": (
        "web: gunicorn app:app --bind 0.0.0.0:$PORT\n"
        "release: python -c \"import time; [print('migrating', step, flush=True) or "
        'time.sleep(0.5) for step in range(8)]"\n'
    ),
}


@pytest.fixture
def slug(docker_client):
    """A project name unique to this run; its containers and images are removed afterwards."""
    name = f"journey-{os.getpid()}"
    yield name
    remove_labelled(docker_client, f"org.deployer.project={name}")


def live_port(slug: str) -> int:
    return Deployment.objects.get(project__slug=slug, state=Deployment.State.LIVE).host_port


def build_id_from(page: Page) -> int:
    page.wait_for_url("**/builds/*/")
    return int(page.url.rstrip("/").rsplit("/", 1)[1])


def wait_until_live(page: Page, build_id: int) -> None:
    expect(page.locator(f"#build-{build_id}-status .state-line .badge")).to_have_text(
        "Live", timeout=BUILD_TIMEOUT
    )


def test_deploy_watch_the_log_stream_go_live_redeploy_and_roll_back(
    logged_in_page: Page, celery_worker, git_repo, slug, settings
):
    settings.DEPLOYER_ALLOW_LOCAL_REPOS = True
    page = logged_in_page
    repo = git_repo(JOURNEY_APP)

    # Create the project and preview what would be built.
    page.get_by_role("link", name="New project").click()
    page.fill("input[name=slug]", slug)
    page.fill("input[name=repo_url]", repo.url)
    page.get_by_role("button", name="Create project").click()
    page.wait_for_url(f"**/projects/{slug}/")
    expect(page.locator(f"#project-{_pk(slug)}-state")).to_have_text("Not deployed yet")
    sections = page.locator("nav.section-nav")
    sections.get_by_role("link", name="Settings").click()
    page.get_by_role("button", name="Preview detection").click()
    detection = page.locator(f"#project-{_pk(slug)}-detection")
    expect(detection).to_contain_text("flask", timeout=30_000)
    expect(detection).to_contain_text("requirements.txt")
    sections.get_by_role("link", name="Overview").click()
    page.wait_for_url(f"**/projects/{slug}/")

    # An overview tab follows the project's state by itself.
    overview = page.context.new_page()
    overview.goto("/")
    overview.evaluate("window.__notReloaded = true")

    # Deploy: the build page streams the log while the build runs.
    page.get_by_role("button", name="Deploy main").click()
    first = build_id_from(page)
    page.evaluate("window.__notReloaded = true")
    lines = page.locator(f"#build-{first}-log .log-line")
    expect(lines.first).to_be_visible(timeout=30_000)
    seen = lines.count()
    expect(page.locator(f"#build-{first}-status .step.current")).to_have_count(1)
    _wait_for(lambda: lines.count() > seen, "more log lines arrive while the build runs")
    assert Build.objects.get(pk=first).is_active  # they arrived during the build, not after it
    expect(page.locator(f"#build-{first}-status .step.current")).to_contain_text("in progress")

    wait_until_live(page, first)
    expect(page.locator(f"#build-{first}-log")).to_contain_text("==> Live")
    assert page.evaluate("window.__notReloaded") is True
    assert http_get(live_port(slug)) == (200, "hello from v1")
    expect(overview.locator(f"#project-{_pk(slug)}-state")).to_have_text("Live", timeout=10_000)
    assert overview.evaluate("window.__notReloaded") is True
    _screenshot(page, "build.png", full_page=True)
    _screenshot(overview, "overview.png")
    overview.close()

    # A second commit, deployed from the project's overview.
    repo.commit({"app.py": FLASK_APP["app.py"].replace("from v1", "from v2")}, "Say v2")
    page.goto(f"/projects/{slug}/logs/")
    expect(page.locator(f"#project-{_pk(slug)}-runtime-output .log-line").first).to_be_visible(
        timeout=15_000
    )
    page.goto(f"/projects/{slug}/")
    page.get_by_role("button", name="Deploy main").click()
    second = build_id_from(page)
    wait_until_live(page, second)
    assert http_get(live_port(slug)) == (200, "hello from v2")

    # Roll back to the first build from the history; the project page shows it live.
    page.goto(f"/projects/{slug}/deployments/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=f"Roll back to #{first}").click()
    rollback = build_id_from(page)
    wait_until_live(page, rollback)
    assert http_get(live_port(slug)) == (200, "hello from v1")
    assert Build.objects.get(pk=rollback).rollback_of_id == first

    page.goto(f"/projects/{slug}/deployments/")
    expect(page.locator(f"#project-{_pk(slug)}-deployments")).to_contain_text(
        f"rollback to build #{first}"
    )
    page.goto(f"/projects/{slug}/logs/")
    expect(page.locator(f"#project-{_pk(slug)}-runtime-output .log-line").first).to_be_visible(
        timeout=15_000
    )
    page.goto(f"/projects/{slug}/")
    expect(page.locator("#overview-live")).to_contain_text(f"to build #{first}")
    _screenshot(page, "project.png", full_page=True)

    # On a phone-width screen nothing scrolls sideways.
    page.set_viewport_size(PHONE)
    project_pages = [f"/projects/{slug}/{section}/" for section in ("deployments", "settings")]
    for path in ["/", f"/projects/{slug}/", *project_pages, f"/builds/{first}/"]:
        page.goto(path)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path
        assert page.evaluate(SIDEWAYS_SCROLLERS) == [], path
    expect(page.locator(f"#build-{first}-status")).to_contain_text("Superseded")
    _screenshot(page, "build-phone.png", full_page=True)


def _pk(slug: str) -> int:
    from projects.models import Project

    return Project.objects.get(slug=slug).pk


def _wait_for(predicate, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    pytest.fail(f"within {timeout:.0f} s: {what}")


def _screenshot(page: Page, name: str, *, full_page: bool = False) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=full_page)


def test_deploy_and_cancel_work_without_javascript(browser, live_server, user, monkeypatch):
    from projects import services

    monkeypatch.setattr("builds.tasks.run_build.delay", lambda build_id: None)  # no worker here
    project = services.create_project(user, slug="no-js", repo_url="https://example.com/a/b.git")
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    page.goto("/accounts/login/")
    page.fill("input[name=username]", user.get_username())
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")

    page.get_by_role("link", name="no-js").click()
    page.get_by_role("button", name="Deploy main").click()
    build_id = build_id_from(page)
    expect(page.locator(f"#build-{build_id}-status")).to_contain_text("Queued")
    expect(page.locator("noscript")).to_have_count(1)
    page.get_by_role("button", name="Cancel build").click()
    expect(page.locator(f"#build-{build_id}-status .badge").first).to_have_text("Cancelled")

    page.goto(project.get_absolute_url())
    page.locator("nav.section-nav").get_by_role("link", name="Logs").click()
    expect(page.locator("main")).to_contain_text("No container is running")
    context.close()
