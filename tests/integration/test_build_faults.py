"""Cancelling, losing a worker, bad base images, parallel projects and the operators' commands."""

from __future__ import annotations

import io
import os
import signal

import pytest
from django.core.management import CommandError, call_command

from builds import services
from builds.models import Build
from builds.tasks import reap_lost_builds, run_build
from tests.integration.apps import FLASK_APP
from tests.integration.conftest import (
    build_log,
    deploy,
    http_get,
    start_worker,
    stop_worker,
    wait_for_build,
    wait_until,
)

pytestmark = pytest.mark.django_db(transaction=True)

SLOW_DOCKERFILE = "FROM python:3.11-slim\nRUN sleep 45 && echo slow-step-done-$((1+1))\n"
OWN_FLASK_DOCKERFILE = (
    "FROM python:3.11-slim\n"
    "WORKDIR /app\n"
    "COPY requirements.txt .\n"
    "RUN pip install --no-cache-dir -r requirements.txt\n"
    "COPY . .\n"
    'CMD ["sh", "-c", "exec gunicorn app:app --bind 0.0.0.0:$PORT"]\n'
)


def sleep_containers(docker_client) -> list:
    return [
        c
        for c in docker_client.containers.list(filters={"status": "running"})
        if "sleep 45" in " ".join(c.attrs["Config"].get("Cmd") or [])
    ]


def wait_for_log(build, text: str, timeout: float = 120):
    def logged():
        """the build log shows the expected line"""
        return text in build_log(build)

    wait_until(logged, timeout=timeout, interval=0.3)


def test_cancelling_a_running_build_aborts_the_docker_build(
    celery_worker, git_repo, make_project, docker_client
):
    project = make_project(git_repo({**FLASK_APP, "Dockerfile": SLOW_DOCKERFILE}))
    build = services.request_build(project)
    wait_for_log(build, "RUN sleep 45")

    assert services.cancel_build(build) is True
    cancelled = wait_for_build(build, timeout=30)

    assert cancelled.state == Build.State.CANCELLED
    assert cancelled.failure_stage == Build.State.BUILDING
    assert "slow-step-done-2" not in build_log(cancelled)
    wait_until(lambda: not sleep_containers(docker_client), timeout=20)


def test_a_build_past_its_soft_time_limit_fails_saying_so_and_its_docker_build_stops(
    celery_worker, git_repo, make_project, docker_client
):
    """The worker runs tasks in threads, whose pool ignores Celery's time limits: the watchdog
    (deployer/worker_steps.py) raises SoftTimeLimitExceeded in the build's thread."""
    project = make_project(git_repo({**FLASK_APP, "Dockerfile": SLOW_DOCKERFILE}))
    build = Build.objects.create(project=project, ref=project.branch)
    # The same task as every build, with a limit of a few seconds on this one message.
    run_build.apply_async(args=[build.pk], soft_time_limit=6, time_limit=120)

    failed = wait_for_build(build, timeout=60)

    assert failed.state == Build.State.FAILED
    assert failed.failure_stage == Build.State.BUILDING
    assert "time limit" in failed.failure_reason
    assert "slow-step-done-2" not in build_log(failed)
    wait_until(lambda: not sleep_containers(docker_client), timeout=30)
    assert not Build.objects.filter(project=project, state__in=Build.RUNNING_STATES).exists()


def test_a_lost_worker_leaves_its_build_failed_and_the_next_deploy_works(
    celery_worker, test_database_url, tmp_path, git_repo, make_project, docker_client
):
    repo = git_repo({**FLASK_APP, "Dockerfile": SLOW_DOCKERFILE})
    project = make_project(repo)
    doomed = start_worker(test_database_url, tmp_path / "doomed.log", name="doomed", queue="doomed")
    try:
        build = Build.objects.create(project=project, ref="main")
        run_build.apply_async((build.pk,), queue="doomed")
        wait_for_log(build, "RUN sleep 45")
        os.killpg(doomed.pid, signal.SIGKILL)
    finally:
        stop_worker(doomed)

    def reaped():
        """the reaper marked the build failed"""
        reap_lost_builds.delay()
        fresh = Build.objects.get(pk=build.pk)
        return fresh if fresh.state == Build.State.FAILED else None

    failed = wait_until(reaped, timeout=40, interval=2)
    assert "was lost" in failed.failure_reason
    assert failed.failure_stage == Build.State.BUILDING
    wait_until(lambda: not sleep_containers(docker_client), timeout=30)

    repo.commit({"Dockerfile": OWN_FLASK_DOCKERFILE}, "a Dockerfile that works")
    next_build = deploy(project)
    assert next_build.state == Build.State.LIVE, next_build.failure_reason
    assert next_build.plan["kind"] == "dockerfile"


def test_a_base_image_from_an_unreachable_registry_fails_before_building(
    celery_worker, git_repo, make_project
):
    dockerfile = "FROM ghcr.io/example/python:3.12\nCMD python -m http.server $PORT\n"
    project = make_project(git_repo({**FLASK_APP, "Dockerfile": dockerfile}))

    build = deploy(project)

    assert build.state == Build.State.FAILED
    assert build.failure_stage == Build.State.BUILDING
    assert "ghcr.io/example/python:3.12 is not on this Docker engine and could not be pulled" in (
        build.failure_reason
    )


def test_two_projects_build_at_the_same_time(celery_worker, git_repo, make_project):
    first = make_project(git_repo(FLASK_APP))
    second = make_project(git_repo(FLASK_APP))

    builds = [services.request_build(first), services.request_build(second)]
    a, b = (wait_for_build(build) for build in builds)

    assert a.state == b.state == Build.State.LIVE
    assert a.started_at < b.finished_at and b.started_at < a.finished_at


def test_deploy_command_streams_the_log_and_succeeds_when_live(
    celery_worker, git_repo, make_project
):
    project = make_project(git_repo(FLASK_APP))
    out = io.StringIO()

    call_command("deploy", project.slug, stdout=out)

    assert "==> Cloning" in out.getvalue()
    assert "Health check" in out.getvalue()
    assert "is live" in out.getvalue()
    build = project.builds.get()
    assert build.trigger == Build.Trigger.CLI
    port = build.deployments.get().host_port
    assert http_get(port) == (200, "hello from v1")


def test_deploy_command_fails_with_the_reason(celery_worker, git_repo, make_project):
    project = make_project(
        git_repo({**FLASK_APP, "app.py": "import nope_module\n" + FLASK_APP["app.py"]})
    )

    with pytest.raises(CommandError, match="failed at health_checking: The app"):
        call_command("deploy", project.slug, stdout=io.StringIO())


def test_deploy_command_rolls_back_to_an_earlier_build(celery_worker, git_repo, make_project):
    repo = git_repo(FLASK_APP)
    project = make_project(repo)
    first = deploy(project)
    repo.commit({"app.py": FLASK_APP["app.py"].replace("v1", "v2")}, "v2")
    assert deploy(project).state == Build.State.LIVE

    call_command("deploy", project.slug, "--rollback", str(first.pk), stdout=io.StringIO())

    rollback = project.builds.order_by("-pk").first()
    assert rollback.rollback_of_id == first.pk
    assert http_get(rollback.deployments.get().host_port) == (200, "hello from v1")


def test_release_output_with_no_newline_is_cut_as_it_streams_and_the_build_goes_live(
    celery_worker, git_repo, make_project
):
    procfile = (
        "release: python -c \"import sys; [sys.stdout.write('x' * 10**6) for _ in range(200)]\"\n"
        "web: gunicorn app:app --bind 0.0.0.0:$PORT\n"
    )
    project = make_project(git_repo({**FLASK_APP, "Procfile": procfile}))

    build = deploy(project)

    assert build.state == Build.State.LIVE, build.failure_reason
    cut = [line for line in build_log(build).splitlines() if line.startswith("xxxx")]
    assert cut == ["x" * 8192 + " [deployer: line cut at 8192 characters]"]  # 200 MB, one line
    longest = max(len(text) for text in build.log_lines.values_list("text", flat=True))
    assert longest < 8300


def test_a_build_whose_task_was_never_sent_leaves_the_queue_by_the_sweeper(
    celery_worker, git_repo, make_project
):
    from django.utils import timezone

    from builds.tasks import dispatch_stranded_builds

    project = make_project(git_repo(FLASK_APP))
    # As if the broker lost the message: a queued row and no task anywhere.
    lost = Build.objects.create(project=project, ref="main")
    old = timezone.now() - timezone.timedelta(minutes=5)
    Build.objects.filter(pk=lost.pk).update(created_at=old, dispatched_at=old)

    dispatch_stranded_builds.delay()  # what beat sends every DEPLOYER_QUEUE_SWEEP_INTERVAL
    build = wait_for_build(lost, timeout=300)

    assert build.state == Build.State.LIVE, build.failure_reason
