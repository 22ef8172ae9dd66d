"""The operators' admin for builds, deployments and log lines."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.admin import helpers
from django.urls import reverse
from django.utils import timezone

from builds.models import Build, BuildLogLine, Deployment
from projects import services as project_services

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_celery(monkeypatch):
    monkeypatch.setattr("builds.tasks.run_build.delay", lambda build_id: None)


@pytest.fixture
def admin_client(client, django_user_model):
    staff = django_user_model.objects.create_user(
        username="root", password="correct horse battery", is_staff=True, is_superuser=True
    )
    client.force_login(staff)
    return client


@pytest.fixture
def project(user):
    return project_services.create_project(
        user, slug="shop", repo_url="https://example.com/acme/shop.git"
    )


@pytest.fixture
def finished(project):
    build = Build.objects.create(
        project=project,
        state=Build.State.LIVE,
        commit_sha="c" * 40,
        ref="main",
        started_at=timezone.now() - timedelta(seconds=42),
        finished_at=timezone.now(),
        stage_timings={"cloning": {"seconds": 1.0}},
        log_line_count=2,
    )
    BuildLogLine.objects.create(build=build, seq=1, stage="cloning", text="==> Cloning")
    BuildLogLine.objects.create(build=build, seq=2, stage="cloning", text="<b>fetched</b>")
    Deployment.objects.create(
        project=project,
        build=build,
        container_id="abc",
        host_port=32000,
        state=Deployment.State.LIVE,
        live_at=timezone.now(),
    )
    return build


def run_action(admin_client, action: str, builds) -> str:
    response = admin_client.post(
        reverse("admin:builds_build_changelist"),
        {"action": action, helpers.ACTION_CHECKBOX_NAME: [b.pk for b in builds]},
        follow=True,
    )
    return response.content.decode()


def test_build_pages_list_filter_and_show_a_read_only_record_with_its_log(admin_client, finished):
    changelist = admin_client.get(reverse("admin:builds_build_changelist") + "?state__exact=live")
    change = admin_client.get(reverse("admin:builds_build_change", args=[finished.pk]))

    assert changelist.status_code == change.status_code == 200
    assert "shop" in changelist.content.decode()
    html = change.content.decode()
    assert "&lt;b&gt;fetched&lt;/b&gt;" in html  # the log tail, escaped
    assert reverse("builds:log-text", args=[finished.pk]) in html
    assert 'name="state"' not in html  # nothing is editable
    assert 'name="stage_timings"' not in html


def test_build_search_finds_by_project_and_commit(admin_client, finished):
    url = reverse("admin:builds_build_changelist")

    assert "shop" in admin_client.get(url + "?q=cccccccc").content.decode()
    assert "0 builds" in admin_client.get(url + "?q=nothing-like-this").content.decode()


def test_cancel_action_cancels_queued_builds_and_reports_ended_ones(
    admin_client, project, finished
):
    queued = Build.objects.create(project=project)

    html = run_action(admin_client, "cancel", [queued, finished])

    queued.refresh_from_db()
    assert queued.state == Build.State.CANCELLED
    assert queued.failure_reason == "Cancelled by root in the admin."
    assert "1 build(s) cancelled or asked to stop; 1 had already ended." in html
    assert Build.objects.get(pk=finished.pk).state == Build.State.LIVE


def test_redeploy_action_queues_a_build_of_the_same_commit(admin_client, finished):
    html = run_action(admin_client, "redeploy", [finished])

    new = Build.objects.exclude(pk=finished.pk).get()
    assert (new.state, new.commit_sha, new.project_id) == (
        Build.State.QUEUED,
        finished.commit_sha,
        finished.project_id,
    )
    assert new.triggered_by.username == "root"
    assert f"Queued build(s) #{new.pk}." in html


def test_builds_cannot_be_added_by_hand(admin_client):
    assert admin_client.get(reverse("admin:builds_build_add")).status_code == 403


def test_deployment_and_log_line_pages_open_and_filter_by_state(admin_client, finished):
    pages = [
        reverse("admin:builds_deployment_changelist") + "?state__exact=live",
        reverse("admin:builds_deployment_change", args=[finished.deployments.get().pk]),
        reverse("admin:builds_buildlogline_changelist") + "?q=fetched",
        reverse("admin:builds_workerheartbeat_changelist"),
    ]

    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url
    assert "32000" in admin_client.get(pages[0]).content.decode()
