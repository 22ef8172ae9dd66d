"""Fixtures on the real services: PostgreSQL, Redis, a Celery worker process, Docker, git."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest
from django.conf import settings
from django.db import connection

from builds import docker as docker_seam
from deployer.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]
TEST_LABEL = "org.deployer.test"


def _database_url_of_test_db() -> str:
    db = connection.settings_dict
    return (
        f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    )


@pytest.fixture(scope="session")
def real_services(django_db_setup, django_db_blocker):
    """Integration tests need the real PostgreSQL and Redis: say so plainly when they are absent."""
    if connection.vendor != "postgresql":
        pytest.fail("integration tests need DATABASE_URL=postgres://... (scripts/test.sh sets it)")
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.fail("integration tests need REDIS_URL=redis://... (scripts/test.sh sets it)")


# Workers in tests beat every second and count a build lost after 10 s without one.
WORKER_ENV = {
    "DEPLOYER_BUILD_HEARTBEAT_SECONDS": "1",
    "DEPLOYER_BUILD_HEARTBEAT_TIMEOUT": "10",
    # The test of an app that never passes its health check waits this long.
    "DEPLOYER_HEALTH_TIMEOUT": "30",
    # Test webhook receivers listen on loopback (Deployer's own services stay refused).
    "DEPLOYER_OUTBOUND_ALLOW_NETWORKS": "127.0.0.0/8",
    # The live app's memory is sampled this long after the switch.
    "DEPLOYER_MEMORY_SAMPLE_DELAY": "2",
}


def start_worker(database_url: str, log_path: Path, *, name: str, queue: str = "celery"):
    """Start a `celery worker` process in its own process group and wait until it answers."""
    env = {**os.environ, **WORKER_ENV, "DATABASE_URL": database_url, "DATABASE_CONN_MAX_AGE": "0"}
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "deployer",
                "worker",
                "--purge",
                "-Q",
                queue,
                "--concurrency=2",
                "--loglevel=INFO",
                f"--hostname={name}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while not any(name in host for reply in celery_app.control.ping(timeout=0.5) for host in reply):
        if process.poll() is not None or time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            pytest.fail(f"the Celery worker did not start:\n{log_path.read_text()[-3000:]}")
    return process


def stop_worker(process) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def test_database_url(real_services, django_db_blocker) -> str:
    with django_db_blocker.unblock():
        return _database_url_of_test_db()


@pytest.fixture(scope="session")
def celery_worker(test_database_url, tmp_path_factory):
    """A real `celery worker` process on the test database and Redis, stopped after the session."""
    log_path = tmp_path_factory.mktemp("worker") / "worker.log"
    process = start_worker(test_database_url, log_path, name="test-worker")
    yield process
    stop_worker(process)


@pytest.fixture(scope="session")
def docker_client():
    client = docker.from_env(timeout=120)
    yield client
    remove_labelled(client, TEST_LABEL)
    remove_services_of_this_run(client)
    client.close()


def remove_services_of_this_run(client) -> None:
    """What this run's installation made beside its test apps, such as the package cache's
    container, network and downloads: a test installation is never used again. Images stay
    (the package cache's is shared by its tag with the next run)."""
    installation = os.environ.get("DEPLOYER_INSTALLATION_ID", "")
    if not installation.startswith("test-"):
        return
    remove_labelled(client, f"{docker_seam.LABEL_INSTALLATION}={installation}", images=False)


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.2):
    """Poll `predicate` until it returns something truthy; fail with a readable message on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout}s: {predicate.__doc__ or predicate}")


def _git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
    }
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


class GitRepo:
    """A real git repository on disk whose commits the tests make."""

    def __init__(self, path: Path):
        self.path = path
        _git(path, "init", "--quiet", "--initial-branch=main")

    @property
    def url(self) -> str:
        return f"file://{self.path}"

    def commit(self, files: dict[str, str], message: str = "change") -> str:
        for name, text in files.items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        _git(self.path, "add", "--all")
        _git(self.path, "commit", "--quiet", "-m", message)
        return _git(self.path, "rev-parse", "HEAD")


@pytest.fixture
def git_repo(tmp_path):
    """`git_repo(files)` makes a repository with one commit of `files`."""

    def make(files: dict[str, str]) -> GitRepo:
        path = tmp_path / f"repo-{len(list(tmp_path.iterdir()))}"
        path.mkdir()
        repo = GitRepo(path)
        repo.commit(files, "initial commit")
        return repo

    return make


@pytest.fixture
def make_project(user, docker_client):
    """`make_project(repo, **fields)` registers a project; its containers and images go afterwards."""
    from projects import services

    created = []

    def make(repo: GitRepo, **fields):
        slug = fields.pop(
            "slug", f"t{os.getpid()}-{len(created)}-{int(time.time() * 1000) % 100000}"
        )
        env = fields.pop("env", {})
        project = services.create_project(user, slug=slug, repo_url=repo.url, **fields)
        for key, value in env.items():
            services.add_env_var(project, key, value)
        created.append(slug)
        return project

    yield make
    for slug in created:
        remove_labelled(docker_client, f"org.deployer.project={slug}")


def remove_labelled(client, label: str, *, images: bool = True) -> None:
    """Remove every container, image (unless not `images`), network and volume carrying
    `label` (some may be going already)."""
    for container in docker_seam.containers(client, label):
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            container.remove(v=True, force=True)
    for image in client.images.list(filters={"label": label}) if images else ():
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            client.images.remove(image.id, force=True)
    for network in client.networks.list(filters={"label": label}):
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            network.remove()
    for volume in client.volumes.list(filters={"label": label}):
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            volume.remove(force=True)


def deploy(project, timeout: float = 300, **kwargs):
    """Request a build through the service the web pages use, and wait for it to finish."""
    from builds import services

    build = services.request_build(project, **kwargs)
    return wait_for_build(build, timeout)


def wait_for_build(build, timeout: float = 300):
    from builds.models import Build

    def finished():
        """the build reached a final state"""
        fresh = Build.objects.get(pk=build.pk)
        return fresh if fresh.is_finished else None

    return wait_until(finished, timeout=timeout, interval=0.5)


def default_bridge_gateway(client) -> str:
    """The host's address on the engine's default bridge (172.17.0.1 with Docker's own
    pools; another with scripts/docker-engine.sh's, on a machine where dockerd first
    started with them)."""
    return client.networks.get("bridge").attrs["IPAM"]["Config"][0]["Gateway"]


def build_log(build) -> str:
    return "\n".join(build.log_lines.order_by("seq").values_list("text", flat=True))


def http_get(port: int, path: str = "/", host: str = "localhost") -> tuple[int, str]:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": host})
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()
