"""Every platform part can restart while the apps keep serving, and the platform recovers alone.

A live app answers through the real Caddy while a loop of requests runs; then Redis,
PostgreSQL, Caddy or dockerd is restarted for real. The loop counts failed requests and the
test measures how long the platform took to work again (a deploy goes live, or routes
answer). The figures are printed (run with -s) and kept in docs/benchmarks.md; the goal,
asserted here, is no failed request for every part but Caddy, which may cost only its own
restart.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from django.db import connections

from builds import services as build_services
from builds.models import Build
from builds.tasks import reap_lost_builds, run_build
from routing import services as routing
from tests.integration.apps import FLASK_APP
from tests.integration.conftest import (
    deploy,
    start_worker,
    stop_worker,
    wait_for_build,
    wait_until,
)
from tests.integration.test_build_faults import OWN_FLASK_DOCKERFILE, SLOW_DOCKERFILE, wait_for_log
from tests.integration.test_routing import Load, kill_caddy, start_caddy, wait_for_answer

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def live_app(celery_worker, git_repo, make_project):
    """A Flask app live behind Caddy, and its repository for the next commit."""
    start_caddy()
    repo = git_repo(FLASK_APP)
    project = make_project(repo)
    build = deploy(project)
    assert build.state == Build.State.LIVE, build.failure_reason
    wait_for_answer(project.app_host, "hello from v1")
    return project, repo


def _services() -> None:
    subprocess.run([str(ROOT / "scripts" / "services.sh")], check=True, capture_output=True)


def _redeploys(project, repo, version: int) -> float:
    """Seconds until a new commit goes live: the platform works again."""
    started = time.monotonic()
    repo.commit({"app.py": FLASK_APP["app.py"].replace("from v1", f"from v{version}")}, "next")
    build = deploy(project, timeout=300)
    assert build.state == Build.State.LIVE, build.failure_reason
    return time.monotonic() - started


def _report(part: str, load: Load, seconds: float) -> None:
    print(
        f"\n[restart] {part}: {sum(load.bodies.values())} requests, {len(load.failures)} failed; "
        f"platform working again {seconds:.1f} s after the restart began"
    )


def test_redis_restarts_while_the_app_serves_and_a_build_asked_meanwhile_still_runs(live_app):
    project, _repo = live_app
    with Load(project.app_host, threads=2) as load:
        started = time.monotonic()
        subprocess.run(["redis-cli", "-h", "127.0.0.1", "shutdown", "nosave"], check=False)
        # Asked while the broker is down: the build row is written, its message is not.
        waiting = build_services.request_build(project, detail="during the Redis restart")
        _services()
        # What beat does every DEPLOYER_QUEUE_SWEEP_INTERVAL: the lost message is sent again.
        build_services.dispatch_stranded_builds(stale_seconds=0)
        build = wait_for_build(waiting, timeout=300)
        seconds = time.monotonic() - started
    _report("Redis", load, seconds)
    assert build.state == Build.State.LIVE, build.failure_reason
    assert load.failures == []


def test_postgresql_restarts_while_the_app_serves_and_deploys_work_after(live_app):
    project, repo = live_app
    version = sorted(path.name for path in Path("/usr/lib/postgresql").iterdir())[-1]
    with Load(project.app_host, threads=2) as load:
        started = time.monotonic()
        subprocess.run(["pg_ctlcluster", version, "main", "restart"], check=True)
        connections.close_all()  # this test's own connection died with the server
        seconds = _redeploys(project, repo, 2) + (time.monotonic() - started)
    _report("PostgreSQL", load, seconds)
    assert load.failures == []


def test_caddy_restarts_with_its_routes_and_costs_only_its_own_restart(live_app):
    project, _repo = live_app
    # A Caddy of this checkout's script, which saves the routes it is given.
    kill_caddy()
    start_caddy()
    routing.sync_routes()
    wait_for_answer(project.app_host, "hello from v1")
    with Load(project.app_host, threads=2) as load:
        time.sleep(0.5)
        started = time.monotonic()
        kill_caddy()
        start_caddy()  # scripts/caddy.sh: Caddy resumes its last routes (--resume)
        wait_for_answer(project.app_host, "hello from v1", timeout=30)
        seconds = time.monotonic() - started
        time.sleep(0.5)
    _report("Caddy", load, seconds)
    assert seconds < 10  # its restart, not the 30 s route reconcile
    gone = ("ConnectionRefused", "RemoteDisconnected", "ConnectionReset")
    assert all(any(word in f for word in gone) for f in load.failures), load.failures[:3]


@pytest.mark.skipif(os.geteuid() != 0, reason="restarting dockerd needs root")
def test_dockerd_restarts_with_live_restore_and_the_app_never_stops(live_app, docker_client):
    project, repo = live_app
    live = project.deployments.get(state="live")
    before = docker_client.api.inspect_container(live.container_id)["State"]
    with Load(project.app_host, threads=2) as load:
        started = time.monotonic()
        subprocess.run(["pkill", "-TERM", "-x", "dockerd"], check=True)
        wait_until(_dockerd_gone, timeout=60)
        _services()  # starts dockerd again (scripts/docker-engine.sh, live-restore on)
        after = docker_client.api.inspect_container(live.container_id)["State"]
        seconds = _redeploys(project, repo, 3) + (time.monotonic() - started)
    _report("dockerd", load, seconds)
    assert after["Running"] and after["StartedAt"] == before["StartedAt"]  # never restarted
    assert load.failures == []


def _reaped(build) -> bool:
    """the reaper (what beat sends every DEPLOYER_REAPER_INTERVAL) failed the lost build"""
    reap_lost_builds.delay()
    return Build.objects.get(pk=build.pk).state == Build.State.FAILED


def _dockerd_gone() -> bool:
    """dockerd has exited"""
    return subprocess.run(["pgrep", "-x", "dockerd"], capture_output=True).returncode != 0


def test_a_worker_killed_mid_build_stops_no_app_and_the_next_deploy_works(
    live_app, test_database_url, tmp_path
):
    project, repo = live_app
    repo.commit({"Dockerfile": SLOW_DOCKERFILE}, "a slow build")
    doomed = start_worker(test_database_url, tmp_path / "doomed.log", name="doomed", queue="doomed")
    with Load(project.app_host, threads=2) as load:
        started = time.monotonic()
        try:
            build = Build.objects.create(project=project, ref="main")
            run_build.apply_async((build.pk,), queue="doomed")
            wait_for_log(build, "RUN sleep 45")
            os.killpg(doomed.pid, signal.SIGKILL)
        finally:
            stop_worker(doomed)
        wait_until(lambda: _reaped(build), timeout=60, interval=2)
        repo.commit({"Dockerfile": OWN_FLASK_DOCKERFILE}, "a Dockerfile that works")
        assert deploy(project).state == Build.State.LIVE
        seconds = time.monotonic() - started
    _report("worker (SIGKILL mid-build)", load, seconds)
    assert load.failures == []
