"""Runtime monitoring on the real engine: unhealthy and back, crashes, OOM kills, crash loops,
notifications through the worker, and an unreachable engine that is not every app crashing."""

from __future__ import annotations

import contextlib
import http.client
import json
import time

import pytest

from builds.models import Build, Deployment
from monitoring import alerts, selectors, services, tasks
from monitoring.models import AppHealth, HealthCheck, HealthEvent, HealthState, Monitor
from monitoring.notify import verify
from tests.integration.conftest import build_log, deploy, http_get, wait_until
from tests.unit.monitoring.receiver import Receiver

pytestmark = pytest.mark.django_db(transaction=True)

State = HealthState
Kind = HealthEvent.Kind

# A stdlib-only app with its own Dockerfile (no package index needed), steered over HTTP:
# /sick and /well flip its health path, /hang makes it hang, /alloc allocates 200 MB,
# /exit-once exits with code 3 once, /crashloop makes every later start exit with code 3.
MONITORED_APP = {
    "Dockerfile": ('FROM python:3.11-slim\nCOPY app.py /app.py\nCMD ["python", "-u", "/app.py"]\n'),
    "app.py": """\
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FLAGS = Path("/tmp")
if (FLAGS / "crashloop").exists():
    print("crash-loop: refusing to start (the CRASHLOOP flag is set)", flush=True)
    sys.exit(3)


class App(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/healthz":
            if (FLAGS / "hang").exists():
                time.sleep(60)
            status = 500 if (FLAGS / "sick").exists() else 200
            return self.answer(status, b"sick" if status == 500 else b"ok")
        if self.path in ("/sick", "/hang"):
            (FLAGS / self.path[1:]).touch()
        elif self.path == "/well":
            (FLAGS / "sick").unlink(missing_ok=True)
        elif self.path == "/alloc":
            hog = b"x" * (200 << 20)
            return self.answer(200, str(len(hog)).encode())
        elif self.path == "/exit-once" and not (FLAGS / "exited").exists():
            (FLAGS / "exited").touch()
            print("exiting on purpose with code 3", flush=True)
            os._exit(3)
        elif self.path == "/crashloop":
            (FLAGS / "crashloop").touch()
            print("crash-loop flag set; exiting", flush=True)
            os._exit(3)
        return self.answer(200, b"done")

    def answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


print("serving on", os.environ["PORT"], flush=True)
ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), App).serve_forever()
""",
}


@pytest.fixture
def monitored(celery_worker, git_repo, make_project):
    """`monitored(**project_fields)`: the app deployed and live, checked once (healthy)."""

    def make(**fields):
        project = make_project(git_repo(MONITORED_APP), health_check_path="/healthz", **fields)
        build = deploy(project)
        assert build.state == Build.State.LIVE, build.failure_reason + "\n" + build_log(build)
        check()
        assert health(project).state == State.HEALTHY, health(project).reason
        return project

    return make


def check() -> services.RunSummary:
    summary = services.check_all()
    assert not summary.busy
    return summary


def health(project) -> AppHealth:
    return AppHealth.objects.get(project=project)


def live(project) -> Deployment:
    return Deployment.objects.get(project=project, state=Deployment.State.LIVE)


def poke(project, path: str) -> None:
    """GET a steering path; the app may die before it answers."""
    with contextlib.suppress(OSError, http.client.HTTPException):
        http_get(live(project).host_port, path)


def answers(project) -> bool:
    """the app answers its health path with 200 again"""
    try:
        return http_get(live(project).host_port, "/healthz")[0] == 200
    except (OSError, http.client.HTTPException):
        return False


def container_attrs(docker_client, project) -> dict:
    container = docker_client.containers.get(live(project).container_id)
    container.reload()
    return container.attrs


def state_changes(project) -> list[tuple[str, str]]:
    return list(
        HealthEvent.objects.filter(project=project, kind=Kind.STATE)
        .order_by("created_at", "pk")
        .values_list("previous_state", "state")
    )


def test_failing_health_path_turns_unhealthy_within_two_checks_and_healthy_when_it_recovers(
    monitored,
):
    project = monitored()

    poke(project, "/sick")
    check()
    assert health(project).state == State.HEALTHY  # one failed answer is not yet a verdict
    check()

    assert health(project).state == State.UNHEALTHY
    assert health(project).reason == "GET /healthz answered 500 Internal Server Error."
    poke(project, "/well")
    check()
    assert health(project).state == State.HEALTHY
    assert state_changes(project) == [
        (State.UNKNOWN, State.HEALTHY),
        (State.HEALTHY, State.UNHEALTHY),
        (State.UNHEALTHY, State.HEALTHY),
    ]
    samples = list(HealthCheck.objects.filter(project=project).order_by("checked_at"))
    assert [s.ok for s in samples] == [True, False, False, True]
    assert all(s.latency_ms is not None and s.latency_ms > 0 for s in samples)


def test_container_killed_from_outside_shows_crashed_with_its_exit_code(monitored, docker_client):
    project = monitored()

    docker_client.containers.get(live(project).container_id).kill(signal="SIGKILL")
    wait_until(lambda: container_attrs(docker_client, project)["State"]["Status"] == "exited")
    check()

    # On this engine (20.10) `docker kill` counts as a manual stop: unless-stopped leaves it down.
    attrs = container_attrs(docker_client, project)
    assert (attrs["State"]["Status"], attrs["RestartCount"]) == ("exited", 0)
    assert health(project).state == State.CRASHED
    assert health(project).reason == "The app exited with code 137 (killed by SIGKILL)."
    event = HealthEvent.objects.get(project=project, kind=Kind.STATE, state=State.CRASHED)
    assert event.exit_code == 137
    assert "serving on 8000" in event.logs


def test_app_over_its_memory_limit_shows_oom_killed_with_the_limit_and_the_advice(
    monitored, docker_client
):
    project = monitored(memory_limit_mb=64)

    poke(project, "/alloc")

    def oom_killed():
        """Docker saw the OOM kill and restarted the container"""
        attrs = container_attrs(docker_client, project)
        return attrs["State"]["OOMKilled"] and attrs["RestartCount"] >= 1

    wait_until(oom_killed, timeout=30)
    check()

    assert health(project).state == State.OOM_KILLED
    assert "memory limit of 64 MB" in health(project).reason
    assert "Raise the project's memory limit" in health(project).reason
    assert HealthEvent.objects.filter(project=project, kind=Kind.RESTARTED).exists()
    # Docker restarted it and it answers again: the next check says so.
    wait_until(lambda: answers(project))
    check()
    assert health(project).state == State.HEALTHY


def test_each_restart_by_docker_is_noted_and_the_app_recovers(monitored, docker_client):
    project = monitored()

    poke(project, "/exit-once")
    wait_until(lambda: container_attrs(docker_client, project)["RestartCount"] == 1)
    wait_until(lambda: answers(project))
    check()

    # The pinned port survives Docker's restart: the route and the checks still reach it.
    ports = container_attrs(docker_client, project)["NetworkSettings"]["Ports"]["8000/tcp"]
    assert int(ports[0]["HostPort"]) == live(project).host_port
    restart = HealthEvent.objects.get(project=project, kind=Kind.RESTARTED)
    assert restart.restarts == 1
    assert "exiting on purpose with code 3" in restart.logs
    assert health(project).state == State.CRASHED
    check()
    assert health(project).state == State.HEALTHY
    assert health(project).restart_count == 1


def test_crash_loop_stops_after_the_restart_limit_keeping_the_last_logs(
    monitored, docker_client, settings
):
    settings.DEPLOYER_CRASH_RESTARTS = 3
    settings.DEPLOYER_STOP_GRACE = 1
    project = monitored()

    poke(project, "/crashloop")
    wait_until(lambda: container_attrs(docker_client, project)["RestartCount"] >= 3, timeout=60)
    check()

    attrs = container_attrs(docker_client, project)
    assert attrs["HostConfig"]["RestartPolicy"]["Name"] == "no"
    assert attrs["State"]["Status"] == "exited"
    current = health(project)
    assert current.state == State.CRASHED
    assert current.restarts_stopped_at is not None
    assert "Deployer stopped restarting it" in current.reason
    stopped = HealthEvent.objects.get(project=project, kind=Kind.RESTARTS_STOPPED)
    assert "crash-loop: refusing to start" in stopped.logs
    # It stays down, and later checks do not ask Docker again or change the story.
    restarts = attrs["RestartCount"]
    time.sleep(2)
    check()
    assert container_attrs(docker_client, project)["RestartCount"] == restarts
    assert health(project).reason == current.reason
    assert not HealthCheck.objects.filter(project=project).order_by("-checked_at").first().ok


def test_one_hanging_app_does_not_delay_the_checks_of_the_others(monitored, settings):
    settings.DEPLOYER_MONITOR_TIMEOUT = 2
    settings.DEPLOYER_MONITOR_UNHEALTHY_AFTER = 1
    hangs, fine = monitored(), monitored()
    poke(hangs, "/hang")

    started = time.monotonic()
    check()
    elapsed = time.monotonic() - started

    assert elapsed < 6
    assert health(hangs).state == State.UNHEALTHY
    assert "got no answer" in health(hangs).reason
    assert health(fine).state == State.HEALTHY


def test_notifications_reach_a_local_receiver_signed_through_the_worker(
    celery_worker, git_repo, make_project, docker_client, settings
):
    settings.DEPLOYER_OUTBOUND_ALLOW_NETWORKS = ["127.0.0.0/8"]  # as WORKER_ENV: the receiver
    project = make_project(git_repo(MONITORED_APP), health_check_path="/healthz")
    with Receiver() as receiver:
        alerts.update_notification_settings(
            project,
            email_owner=False,
            extra_emails="",
            webhook_url=receiver.url,
            webhook_format="generic",
            on_health=True,
            on_deploy=True,
        )
        secret = alerts.notification_settings(project).signing_secret()

        build = deploy(project)
        wait_until(lambda: len(receiver.received) >= 1, timeout=30)
        check()
        docker_client.containers.get(live(project).container_id).kill(signal="SIGKILL")
        wait_until(lambda: container_attrs(docker_client, project)["State"]["Status"] == "exited")
        check()
        wait_until(lambda: len(receiver.received) >= 2, timeout=30)

    deployed, crashed = (json.loads(r.body) for r in receiver.received[:2])
    assert (deployed["event"], deployed["build"]) == ("deploy.succeeded", build.pk)
    assert (crashed["event"], crashed["state"], crashed["previous_state"]) == (
        "health.changed",
        "crashed",
        "healthy",
    )
    assert "code 137" in crashed["text"]
    for request in receiver.received:
        assert verify(request.body, secret, request.headers["X-Deployer-Signature"])
    assert set(project.notification_deliveries.values_list("status", flat=True)) == {"sent"}


def test_failed_deploy_is_announced_through_the_worker(
    celery_worker, git_repo, make_project, settings
):
    settings.DEPLOYER_OUTBOUND_ALLOW_NETWORKS = ["127.0.0.0/8"]  # as WORKER_ENV: the receiver
    broken = {**MONITORED_APP, "app.py": "import sys\nprint('no server here')\nsys.exit(1)\n"}
    project = make_project(git_repo(broken), health_check_path="/healthz")
    with Receiver() as receiver:
        alerts.update_notification_settings(
            project,
            email_owner=False,
            extra_emails="",
            webhook_url=receiver.url,
            webhook_format="slack",
            on_health=True,
            on_deploy=True,
        )

        build = deploy(project)
        wait_until(lambda: receiver.received, timeout=30)

    assert build.state == Build.State.FAILED
    body = json.loads(receiver.received[0].body)
    assert body["text"].startswith(f"{project.slug}: build #{build.pk} failed")
    assert "Failed while health checking" in body["text"]


def test_beat_task_run_by_the_worker_records_health(monitored):
    project = monitored()
    HealthCheck.objects.filter(project=project).delete()

    tasks.check_apps.delay()

    def checked():
        """the worker's run stored a sample"""
        return HealthCheck.objects.filter(project=project).exists()

    wait_until(checked, timeout=60)
    wait_until(lambda: Monitor.objects.get().running_since is None)
    assert health(project).state == State.HEALTHY


def test_unreachable_engine_is_shown_as_such_and_apps_keep_their_state(
    monitored, monkeypatch, auth_client
):
    project = monitored()
    samples = HealthCheck.objects.filter(project=project).count()

    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/deployer-test.sock")
    summary = check()

    assert "not reachable" in summary.engine_error
    assert health(project).state == State.HEALTHY
    assert HealthCheck.objects.filter(project=project).count() == samples
    shown = selectors.current_health(project)
    assert (shown.state, shown.last_known) == (State.UNKNOWN, State.HEALTHY)
    page = auth_client.get(f"/projects/{project.slug}/monitoring/").content.decode()
    assert "Docker engine unreachable</b>" in page
    assert "Crashed" not in page

    monkeypatch.delenv("DOCKER_HOST")
    check()
    assert selectors.current_health(project).state == State.HEALTHY
    engine_events = HealthEvent.objects.filter(project__isnull=True).order_by("created_at")
    assert list(engine_events.values_list("kind", flat=True)) == [
        Kind.ENGINE_UNREACHABLE,
        Kind.ENGINE_REACHABLE,
    ]
