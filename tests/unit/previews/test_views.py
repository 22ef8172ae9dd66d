from __future__ import annotations

import pytest
from django.urls import reverse

from builds.models import Build
from previews.models import Preview, PreviewSettings
from projects.models import Membership
from tests.unit.previews import payloads

pytestmark = pytest.mark.django_db


@pytest.fixture
def fork_preview(project, secret, post_hook) -> Preview:
    post_hook(*payloads.github(secret, fork=True))
    return Preview.objects.get()


def test_previews_section_lists_state_commit_and_the_approve_button(client, user, fork_preview):
    client.force_login(user)

    page = client.get("/projects/shop/previews/")

    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="preview-7"' in html
    assert "Waiting for approval" in html
    assert f"Approve {fork_preview.short_sha}" in html
    assert 'aria-current="page"' in html


def test_a_deployer_approves_a_forks_preview_and_it_builds(client, other_user, fork_preview):
    Membership.objects.create(project=fork_preview.project, user=other_user, role="deployer")
    client.force_login(other_user)

    response = client.post("/projects/shop/previews/7/approve/")

    assert response.status_code == 302
    fork_preview.refresh_from_db()
    assert fork_preview.state == "active"
    assert fork_preview.approved_by == other_user
    assert Build.objects.get().project.slug == "pr-7-shop"


def test_a_viewer_may_not_approve(client, other_user, fork_preview):
    Membership.objects.create(project=fork_preview.project, user=other_user, role="viewer")
    client.force_login(other_user)

    page = client.get("/projects/shop/previews/")
    response = client.post("/projects/shop/previews/7/approve/")

    assert "Approve" not in page.content.decode()
    assert response.status_code == 403
    assert not Build.objects.exists()


def test_stop_removes_the_running_preview_and_start_brings_it_back(
    client, user, project, secret, post_hook
):
    post_hook(*payloads.github(secret))
    client.force_login(user)

    client.post("/projects/shop/previews/7/stop/")
    preview = Preview.objects.get()
    assert (preview.state, preview.child) == ("stopped", None)

    client.post("/projects/shop/previews/7/start/")
    preview.refresh_from_db()
    # The stopped child is still being removed by the worker: the start waits for it.
    assert preview.state == "queued"
    assert "still being removed" in preview.reason


def test_only_the_owner_changes_preview_settings(client, user, other_user, project):
    Membership.objects.create(project=project, user=other_user, role="deployer")
    client.force_login(other_user)
    refused = client.post(
        "/projects/shop/previews/settings/", {"max_running": "5", "idle_hours": "1"}
    )
    client.force_login(user)
    client.post("/projects/shop/previews/settings/", {"max_running": "5", "idle_hours": "0"})

    assert refused.status_code == 403
    saved = PreviewSettings.objects.get(project=project)
    assert (saved.enabled, saved.max_running, saved.idle_hours) == (False, 5, 0)


def test_a_bad_limit_is_refused_with_its_reason(client, user, project):
    client.force_login(user)

    response = client.post(
        "/projects/shop/previews/settings/",
        {"enabled": "on", "max_running": "0", "idle_hours": "1"},
        follow=True,
    )

    assert "Preview settings not saved" in response.content.decode()
    assert not PreviewSettings.objects.exists()


def test_a_previews_own_pages_say_whose_preview_it_is(client, user, project, secret, post_hook):
    post_hook(*payloads.github(secret))
    client.force_login(user)

    page = client.get("/projects/pr-7-shop/").content.decode()

    assert "A pull request's preview of" in page
    assert 'href="/projects/shop/previews/"' in page


def test_the_project_list_counts_previews_under_their_project(client, user, secret, post_hook):
    post_hook(*payloads.github(secret, number=1))
    post_hook(*payloads.github(secret, number=2))
    client.force_login(user)

    page = client.get(reverse("projects:list")).content.decode()

    assert "2 previews" in page
    assert "/projects/shop/" in page and "pr-1-shop" not in page
