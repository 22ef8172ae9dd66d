"""Apps answer at a stable address through a real Caddy; switches drop no request; routes heal.

Caddy is started by scripts/caddy.sh on the admin URL and HTTP port of the settings (the
worker reads the same environment), so a run with DEPLOYER_CADDY_ADMIN_URL and
DEPLOYER_HTTP_PORT set uses a Caddy of its own.
"""

from __future__ import annotations

import copy
import http.client
import os
import signal
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings

from builds import deletion
from builds.models import Build, Deployment
from routing import caddy, config, services
from routing.models import Domain
from routing.tasks import reconcile_routes
from tests.integration.apps import FLASK_APP
from tests.integration.conftest import build_log, deploy, http_get, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


def _caddy_env() -> dict[str, str]:
    return {
        **os.environ,
        "DEPLOYER_CADDY_ADMIN_URL": settings.DEPLOYER_CADDY_ADMIN_URL,
        "DEPLOYER_HTTP_PORT": str(settings.DEPLOYER_HTTP_PORT),
        "DEPLOYER_HTTP_BIND": settings.DEPLOYER_HTTP_BIND,
    }


def start_caddy() -> None:
    subprocess.run(
        [str(ROOT / "scripts" / "caddy.sh")], env=_caddy_env(), check=True, capture_output=True
    )


def kill_caddy() -> None:
    admin_port = int(settings.DEPLOYER_CADDY_ADMIN_URL.rstrip("/").rsplit(":", 1)[1])
    os.kill(pid_listening_on(admin_port), signal.SIGKILL)

    def admin_gone():
        """Caddy's admin API stopped answering"""
        try:
            caddy.get("")
        except caddy.CaddyUnavailable:
            return True
        return False

    wait_until(admin_gone, timeout=10)


def pid_listening_on(port: int) -> int:
    """The process that listens on 127.0.0.1:`port`, whichever checkout's script started it."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            if any(os.readlink(fd) in inodes for fd in fd_dir.iterdir()):
                return int(fd_dir.parent.name)
        except OSError:  # a process that ended meanwhile, or one we may not look into
            continue
    raise LookupError(f"nothing listens on port {port}")


@pytest.fixture(scope="module")
def router():
    """A running Caddy (scripts/caddy.sh; left running, as the other services are)."""
    start_caddy()


def through_caddy(host: str, path: str = "/") -> tuple[int, str]:
    return http_get(settings.DEPLOYER_HTTP_PORT, path, host=host)


def wait_for_answer(host: str, body: str, timeout: float = 30) -> None:
    def answers():
        try:
            return through_caddy(host) == (200, body)
        except OSError:
            return False

    answers.__doc__ = f"{host} answers {body!r} through Caddy"  # wait_until's failure message
    wait_until(answers, timeout=timeout)


def add_verified_domain(project, hostname: str) -> Domain:
    """A custom domain as it is once proven (tests/integration/test_domain_proofs.py proves them)."""
    domain = services.add_domain(project, hostname)
    Domain.objects.filter(pk=domain.pk).update(state=Domain.State.VERIFIED)
    services.sync_routes()
    return domain


def flask_app(version: int) -> dict[str, str]:
    return {**FLASK_APP, "app.py": FLASK_APP["app.py"].replace("from v1", f"from v{version}")}


class Load:
    """Threads sending GET / to a host through Caddy, a new connection per request."""

    def __init__(self, host: str, threads: int = 3, timeout: float = 10, status: int = 200) -> None:
        self.host, self.timeout, self.status = host, timeout, status
        self.bodies: Counter = Counter()
        self.failures: list[str] = []
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._loop, daemon=True) for _ in range(threads)]

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(self.timeout + 5)

    def failures_besides_resets(self, at_most: int) -> list[str]:
        """The failures, leaving out up to `at_most` connection resets.

        A connection that reaches Caddy at the very instant a reload swaps its listener can
        still be reset, rarely, even with net.ipv4.tcp_migrate_req (one in 30 reloads under
        four hammering threads, once in CI); without it, about one per reload.
        """
        resets = [f for f in self.failures if f.startswith("ConnectionResetError")]
        return [f for f in self.failures if f not in resets] + resets[at_most:]

    def _loop(self) -> None:
        deadline = time.monotonic() + 600  # a hard cap, whatever happens to the test
        while not self.stopping.is_set() and time.monotonic() < deadline:
            connection = http.client.HTTPConnection(
                "127.0.0.1", settings.DEPLOYER_HTTP_PORT, timeout=self.timeout
            )
            try:
                connection.request("GET", "/", headers={"Host": self.host})
                response = connection.getresponse()
                body = response.read().decode()
                if response.status == self.status:
                    self.bodies[body] += 1
                else:
                    self.failures.append(f"HTTP {response.status}: {body[:100]}")
            except (OSError, http.client.HTTPException) as exc:
                self.failures.append(repr(exc))
            finally:
                connection.close()


def test_caddy_reloads_reset_no_connection_arriving_meanwhile(router):
    """Every route switch reloads Caddy, which replaces its listening socket: connections
    queued on the old one go to the new one (net.ipv4.tcp_migrate_req, set by
    scripts/caddy.sh) instead of being reset, about one per reload under load (dozens here)."""
    server = services.desired_server()
    try:
        with Load("nobody.localhost", threads=4, status=404) as load:
            for reload in range(30):
                variant = copy.deepcopy(server)
                variant["routes"][-1]["handle"][0]["body"] = f"Nothing here ({reload}).\n"
                caddy.put(config.SERVER_PATH, variant)
                time.sleep(0.1)
    finally:
        services.sync_routes()

    assert load.failures_besides_resets(at_most=2) == []
    assert sum(load.bodies.values()) > 300
    assert len(load.bodies) > 20  # the reloads took effect while the requests went on


def test_redeploys_under_load_through_caddy_drop_no_request(
    router, celery_worker, git_repo, make_project
):
    repo = git_repo(flask_app(1))
    project = make_project(repo)
    first = deploy(project)
    assert first.state == Build.State.LIVE, first.failure_reason
    host = project.app_host
    wait_for_answer(host, "hello from v1")
    assert "Route: http://" in build_log(first)

    with Load(host) as load:
        for version in (2, 3, 4):
            repo.commit({"app.py": flask_app(version)["app.py"]}, f"v{version}")
            build = deploy(project)
            assert build.state == Build.State.LIVE, build.failure_reason + build_log(build)
        wait_for_answer(host, "hello from v4")
        time.sleep(1)

    assert load.failures_besides_resets(at_most=1) == []  # no 502, timeout or wrong answer
    assert sum(load.bodies.values()) > 50
    assert set(load.bodies) <= {f"hello from v{n}" for n in (1, 2, 3, 4)}
    assert load.bodies["hello from v4"] > 0


def test_restarted_caddy_resumes_its_routes_and_an_empty_one_gets_them_from_the_database(
    router, celery_worker, git_repo, make_project
):
    shop = make_project(git_repo(flask_app(1)))
    blog = make_project(git_repo(flask_app(2)))
    assert deploy(shop).state == Build.State.LIVE
    assert deploy(blog).state == Build.State.LIVE
    custom = f"{shop.slug}.example.test"
    add_verified_domain(shop, custom)
    wait_for_answer(custom, "hello from v1")
    wait_for_answer(blog.app_host, "hello from v2")

    kill_caddy()
    start_caddy()  # a Caddy of this checkout's script, which saves the routes it is given
    services.sync_routes()
    kill_caddy()
    start_caddy()
    # Caddy resumes the routes it was last given: the apps answer as soon as it is up.
    wait_for_answer(shop.app_host, "hello from v1", timeout=5)
    # A Caddy that lost its saved state (a new machine or container) starts empty, and the
    # worker's route reconcile (at start, and every DEPLOYER_ROUTE_RECONCILE_INTERVAL)
    # restores every route from the database.
    kill_caddy()
    admin_port = settings.DEPLOYER_CADDY_ADMIN_URL.rstrip("/").rsplit(":", 1)[1]
    (ROOT / "var" / "caddy" / admin_port / "config" / "caddy" / "autosave.json").unlink(
        missing_ok=True
    )
    start_caddy()

    assert through_caddy(shop.app_host)[0] == 404  # its initial config: no route yet
    reconcile_routes.delay()
    wait_for_answer(shop.app_host, "hello from v1", timeout=30)
    wait_for_answer(custom, "hello from v1")
    wait_for_answer(blog.app_host, "hello from v2")


def test_custom_domain_answers_with_the_app_until_removed(
    router, celery_worker, git_repo, make_project
):
    project = make_project(git_repo(flask_app(1)))
    assert deploy(project).state == Build.State.LIVE
    hostname = f"www.{project.slug}.example.test"

    domain = add_verified_domain(project, hostname.upper())

    wait_for_answer(hostname, "hello from v1")
    services.remove_domain(domain)
    status, body = through_caddy(hostname)
    assert status == 404
    assert body == f"No app is deployed at {hostname}.\n"
    assert through_caddy(project.app_host) == (200, "hello from v1")


def test_deleted_project_stops_answering(router, celery_worker, git_repo, make_project):
    project = make_project(git_repo(flask_app(1)))
    assert deploy(project).state == Build.State.LIVE
    host = project.app_host
    wait_for_answer(host, "hello from v1")

    deletion.delete_project(project)

    assert through_caddy(host)[0] == 404
    assert config.upstream_port(caddy.get(config.SERVER_PATH), project.slug) is None


def test_failed_build_leaves_the_route_on_the_old_container(
    router, celery_worker, git_repo, make_project
):
    repo = git_repo(flask_app(1))
    project = make_project(repo)
    assert deploy(project).state == Build.State.LIVE
    host = project.app_host
    wait_for_answer(host, "hello from v1")
    live = Deployment.objects.get(project=project, state=Deployment.State.LIVE)
    repo.commit({"app.py": "def broken(:\n"}, "syntax error")

    failed = deploy(project)

    assert failed.state == Build.State.FAILED
    assert "Route:" not in build_log(failed)
    server = caddy.get(config.SERVER_PATH)
    assert config.upstream_port(server, project.slug) == live.host_port
    assert through_caddy(host) == (200, "hello from v1")
