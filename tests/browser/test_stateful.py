"""An owner adds a Redis add-on and a volume through the dashboard, in a real browser: the
worker starts Redis on the real engine and the add-ons page shows it ready; a path outside
the app is refused with its reason; removing the volume asks for its name."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from addons.models import AddOn
from tests.integration.apps import FLASK_APP
from volumes.models import Volume

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_owner_adds_redis_and_a_volume_from_the_dashboard(
    logged_in_page: Page, celery_worker, git_repo, make_project, docker_client
):
    page = logged_in_page
    project = make_project(git_repo(FLASK_APP))

    page.goto(f"/projects/{project.slug}/addons/")
    page.get_by_role("button", name="Add Redis").click()
    expect(page.locator(".messages")).to_contain_text("is being created")
    for _ in range(60):  # the worker starts it on the real engine
        if AddOn.objects.filter(project=project, state=AddOn.State.READY).exists():
            break
        page.wait_for_timeout(1000)
    page.reload()
    addon = AddOn.objects.get(project=project)
    card = page.locator(f"#addon-{addon.pk}")
    expect(card.locator("h2")).to_contain_text("Ready")
    expect(card).to_contain_text(f"{addon.container_name}:6379")
    expect(card).to_contain_text("REDIS_URL")
    assert docker_client.containers.get(addon.container_name).status == "running"

    page.goto(f"/projects/{project.slug}/volumes/")
    expect(page.locator('nav.section-nav [aria-current="page"]')).to_have_text("Volumes")
    page.fill("#volume-add input[name=name]", "etc")
    page.fill("#volume-add input[name=path]", "/etc")
    page.click("#volume-add button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("/etc is outside the app")
    page.fill("#volume-add input[name=name]", "media")
    page.fill("#volume-add input[name=path]", "/app/media")
    page.click("#volume-add button[type=submit]")
    volume = Volume.objects.get(project=project)
    row = page.locator(f"#volume-{volume.pk}")
    expect(row).to_contain_text("/app/media")
    expect(row).to_contain_text("not measured yet")

    # The browser itself refuses a wrong confirmation (pattern); the server would too.
    row.locator("input[name=confirm]").fill("medi")
    row.get_by_role("button", name="Remove").click()
    assert Volume.objects.get(pk=volume.pk).removing_at is None
    row.locator("input[name=confirm]").fill("media")
    row.get_by_role("button", name="Remove").click()
    expect(page.locator(".messages")).to_contain_text("The volume media is detached")
    for _ in range(30):  # never deployed, nothing holds it: the worker removes it at once
        if not Volume.objects.filter(pk=volume.pk).exists():
            break
        page.wait_for_timeout(500)
    assert not Volume.objects.filter(pk=volume.pk).exists()
