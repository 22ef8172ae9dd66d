from __future__ import annotations

import pytest
from django.utils import timezone

from builds import services
from builds.models import Build, Deployment

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(user):
    from projects import services as project_services

    return project_services.create_project(user, slug="svc", repo_url="https://example.com/a.git")


def test_a_newer_request_supersedes_a_queued_build_of_the_same_project(project):
    first = services.request_build(project)
    second = services.request_build(project)

    first.refresh_from_db()
    assert first.state == Build.State.SUPERSEDED
    assert second.state == Build.State.QUEUED
    assert second.ref == "main"


def test_a_running_build_is_not_superseded_by_a_new_request(project):
    running = Build.objects.create(project=project, state=Build.State.BUILDING)

    services.request_build(project)

    running.refresh_from_db()
    assert running.state == Build.State.BUILDING


def test_cancelling_a_queued_build_ends_it_at_once(project):
    build = services.request_build(project)

    assert services.cancel_build(build) is True

    build.refresh_from_db()
    assert build.state == Build.State.CANCELLED
    assert build.finished_at is not None


def test_cancelling_a_running_build_asks_its_worker_to_stop(project):
    build = Build.objects.create(project=project, state=Build.State.BUILDING)

    assert services.cancel_build(build) is True

    build.refresh_from_db()
    assert build.state == Build.State.BUILDING
    assert build.cancel_requested is True


def test_cancelling_a_finished_build_does_nothing(project):
    build = Build.objects.create(project=project, state=Build.State.LIVE)

    assert services.cancel_build(build) is False


def test_rollback_to_a_build_that_never_went_live_is_refused(project):
    failed = Build.objects.create(project=project, state=Build.State.FAILED, image_id="sha256:x")

    with pytest.raises(services.BuildRequestError, match="never went live"):
        services.request_rollback(project, failed)


def test_rollback_reuses_the_image_and_plan_of_the_target(project):
    target = Build.objects.create(
        project=project,
        state=Build.State.SUPERSEDED,
        image_id="sha256:abc",
        image_tag="deployer/svc:1",
        commit_sha="a" * 40,
        plan={"framework": "flask"},
    )
    Deployment.objects.create(
        project=project, build=target, state="superseded", live_at=timezone.now()
    )

    rollback = services.request_rollback(project, target)

    assert rollback.trigger == Build.Trigger.ROLLBACK
    assert rollback.rollback_of == target
    assert (rollback.image_id, rollback.plan) == ("sha256:abc", {"framework": "flask"})


def test_reaper_fails_running_builds_whose_heartbeat_went_stale(project, user):
    from projects import services as project_services

    other = project_services.create_project(user, slug="svc2", repo_url="https://example.com/b.git")
    stale = Build.objects.create(
        project=project,
        state=Build.State.BUILDING,
        worker="w1@host",
        heartbeat_at=timezone.now() - timezone.timedelta(seconds=120),
    )
    fresh = Build.objects.create(
        project=other, state=Build.State.CLONING, heartbeat_at=timezone.now()
    )

    reaped = services.reap_lost_builds(timeout_seconds=60)

    assert [b.pk for b in reaped] == [stale.pk]
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.state == Build.State.FAILED
    assert stale.failure_stage == Build.State.BUILDING
    assert "w1@host" in stale.failure_reason and "was lost" in stale.failure_reason
    assert fresh.state == Build.State.CLONING


def test_only_one_deployment_per_project_can_be_live(project):
    from django.db import IntegrityError

    build = Build.objects.create(project=project)
    Deployment.objects.create(project=project, build=build, state=Deployment.State.LIVE)

    with pytest.raises(IntegrityError):
        Deployment.objects.create(project=project, build=build, state=Deployment.State.LIVE)


def test_the_database_refuses_a_second_running_build_of_a_project(project):
    from django.db import IntegrityError, transaction

    Build.objects.create(project=project, state=Build.State.BUILDING)

    with pytest.raises(IntegrityError), transaction.atomic():
        Build.objects.create(project=project, state=Build.State.CLONING)
    Build.objects.create(project=project, state=Build.State.QUEUED)  # waiting is allowed


def test_the_constraint_names_exactly_the_running_states():
    (constraint,) = [
        c for c in Build._meta.constraints if c.name == "one_running_build_per_project"
    ]

    assert set(dict(constraint.condition.children)["state__in"]) == set(Build.RUNNING_STATES)


def test_two_claims_racing_for_one_project_let_one_build_run(project):
    from builds.stages import claim

    first = Build.objects.create(project=project)
    second = Build.objects.create(project=project)

    assert claim(first, worker="w1") is True
    assert claim(second, worker="w2") is False
    second.refresh_from_db()
    assert second.state == Build.State.QUEUED and second.dispatched_at is not None


def test_a_queued_build_whose_message_was_lost_is_sent_again(project, monkeypatch):
    sent = []
    monkeypatch.setattr("builds.tasks.run_build.delay", sent.append)
    old = timezone.now() - timezone.timedelta(seconds=120)
    lost = Build.objects.create(project=project)
    Build.objects.filter(pk=lost.pk).update(created_at=old, dispatched_at=old)
    waiting = Build.objects.create(project=project)  # its message was seen just now
    Build.objects.filter(pk=waiting.pk).update(created_at=old, dispatched_at=timezone.now())

    assert services.dispatch_stranded_builds(stale_seconds=45) == [lost.pk]
    assert sent == [lost.pk]
    lost.refresh_from_db()
    assert lost.dispatched_at > old


def test_a_broker_that_is_down_leaves_the_build_queued_for_the_sweeper(project, monkeypatch):
    def down(build_id):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr("builds.tasks.run_build.delay", down)
    build = Build.objects.create(project=project)

    assert services.dispatch(build.pk) is False
    build.refresh_from_db()
    assert build.state == Build.State.QUEUED
