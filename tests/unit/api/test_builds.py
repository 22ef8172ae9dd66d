"""Deploy, roll back, cancel and follow a build's log through the API."""

from __future__ import annotations

import pytest
from django.utils import timezone

from builds.models import Build, BuildLogLine, Deployment
from projects.models import AuditEntry

pytestmark = pytest.mark.django_db


def went_live(project, image_id: str, live: bool = False) -> Build:
    build = Build.objects.create(
        project=project, state=Build.State.LIVE, image_id=image_id, commit_sha="a" * 40
    )
    Deployment.objects.create(
        project=project,
        build=build,
        state=Deployment.State.LIVE if live else Deployment.State.SUPERSEDED,
        live_at=timezone.now(),
    )
    return build


def test_deploy_queues_a_build_of_the_branch(api, project, user):
    response = api.post(f"/projects/{project.slug}/deploy", {})
    assert response.status_code == 202
    body = response.json()
    assert body["state"] == "queued"
    assert body["ref"] == "main"
    build = Build.objects.get(pk=body["id"])
    assert build.triggered_by == user
    entry = project.audit_entries.get(action=AuditEntry.Action.DEPLOY)
    assert entry.actor_label == f"token ci of {user.username}"


def test_deploy_without_a_body_deploys_the_branch(api, project):
    response = api.post(f"/projects/{project.slug}/deploy")
    assert response.status_code == 202, response.content


def test_deploy_a_ref_or_an_exact_commit(api, project):
    tag = api.post(f"/projects/{project.slug}/deploy", {"ref": "v1.2"}).json()
    assert tag["ref"] == "v1.2"
    sha = "b" * 40
    exact = api.post(f"/projects/{project.slug}/deploy", {"ref": sha}).json()
    assert exact["commit_sha"] == sha


def test_deploy_of_an_unknown_project_is_404(api):
    response = api.post("/projects/nope/deploy", {})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "project_not_found"


def test_deploy_of_a_project_being_deleted_is_409(api, project):
    project.deleting_at = timezone.now()
    project.save()
    response = api.post(f"/projects/{project.slug}/deploy", {})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "build_refused"
    assert not project.builds.exists()


def test_builds_are_listed_newest_first(api, project):
    first = Build.objects.create(project=project, state=Build.State.FAILED)
    second = Build.objects.create(project=project)
    body = api.get(f"/projects/{project.slug}/builds").json()
    assert [b["id"] for b in body["items"]] == [second.pk, first.pk]
    assert body["count"] == 2


def test_someone_elses_build_is_404(client, make_token, other_user, project):
    from tests.unit.api.conftest import Api

    build = Build.objects.create(project=project)
    response = Api(client, make_token("admin", owner=other_user)).get(f"/builds/{build.pk}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "build_not_found"


def test_cancel_a_queued_build(api, project, user):
    build = Build.objects.create(project=project)
    body = api.post(f"/builds/{build.pk}/cancel").json()
    assert body["cancelled"] is True
    assert body["build"]["state"] == "cancelled"
    entry = project.audit_entries.get(action=AuditEntry.Action.CANCEL)
    assert entry.actor_label == f"token ci of {user.username}"


def test_cancel_an_ended_build_says_so(api, project):
    build = Build.objects.create(project=project, state=Build.State.FAILED)
    body = api.post(f"/builds/{build.pk}/cancel").json()
    assert body["cancelled"] is False


def test_a_read_token_cannot_cancel(api_as, project):
    build = Build.objects.create(project=project)
    assert api_as("read").post(f"/builds/{build.pk}/cancel").status_code == 403
    build.refresh_from_db()
    assert build.state == Build.State.QUEUED


def test_rollback_goes_to_the_newest_earlier_image(api, project):
    older = went_live(project, "sha256:old")
    went_live(project, "sha256:new", live=True)
    body = api.post(f"/projects/{project.slug}/rollback").json()
    assert body["rollback_of"] == older.pk
    assert body["trigger"] == "rollback"


def test_rollback_to_a_named_build(api, project):
    older = went_live(project, "sha256:old")
    went_live(project, "sha256:new", live=True)
    response = api.post(f"/projects/{project.slug}/rollback", {"build": older.pk})
    assert response.status_code == 202


def test_rollback_with_nothing_to_go_back_to_is_409(api, project):
    response = api.post(f"/projects/{project.slug}/rollback")
    assert response.status_code == 409


def test_rollback_to_a_build_that_never_went_live_is_409(api, project):
    failed = Build.objects.create(project=project, state=Build.State.FAILED)
    response = api.post(f"/projects/{project.slug}/rollback", {"build": failed.pk})
    assert response.status_code == 409
    assert "never went live" in response.json()["error"]["message"]


# The log cursor ------------------------------------------------------------------------------


def add_lines(build: Build, *texts: str) -> None:
    start = build.log_line_count
    for offset, text in enumerate(texts, start=1):
        BuildLogLine.objects.create(build=build, seq=start + offset, stage="building", text=text)
    build.log_line_count = start + len(texts)
    build.save(update_fields=["log_line_count"])


def test_the_log_answers_lines_after_the_cursor(api, project):
    build = Build.objects.create(project=project, state=Build.State.BUILDING)
    add_lines(build, "one", "two", "three")
    body = api.get(f"/builds/{build.pk}/log", after=1).json()
    assert [line["text"] for line in body["lines"]] == ["two", "three"]
    assert body["next_after"] == 3
    assert body["finished"] is False


def test_the_log_without_new_lines_keeps_the_cursor(api, project):
    build = Build.objects.create(project=project, state=Build.State.BUILDING)
    add_lines(build, "one")
    body = api.get(f"/builds/{build.pk}/log", after=1).json()
    assert body["lines"] == []
    assert body["next_after"] == 1


def test_the_log_says_finished_once_the_build_ended(api, project):
    build = Build.objects.create(project=project, state=Build.State.FAILED, log_complete=True)
    add_lines(build, "boom")
    body = api.get(f"/builds/{build.pk}/log").json()
    assert body["finished"] is True
    assert body["state"] == "failed"


def test_a_negative_cursor_is_a_400(api, project):
    build = Build.objects.create(project=project)
    response = api.get(f"/builds/{build.pk}/log", after=-1)
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "after"


def test_a_long_poll_returns_when_time_is_up(api, project):
    build = Build.objects.create(project=project, state=Build.State.BUILDING)
    body = api.get(f"/builds/{build.pk}/log", wait=0.6).json()
    assert body["lines"] == []
