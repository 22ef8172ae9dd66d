"""Fixtures on the real services: PostgreSQL, Redis, a Celery worker process, Docker, git."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest
from django.conf import settings
from django.db import connection

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


@pytest.fixture(scope="session")
def celery_worker(real_services, django_db_blocker, tmp_path_factory):
    """A real `celery worker` process on the test database and Redis, stopped after the session."""
    with django_db_blocker.unblock():
        database_url = _database_url_of_test_db()
    log_path = tmp_path_factory.mktemp("worker") / "worker.log"
    env = {**os.environ, "DATABASE_URL": database_url, "DATABASE_CONN_MAX_AGE": "0"}
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "deployer", "worker", "--purge",
             "--concurrency=2", "--loglevel=INFO", "--hostname=test-worker@%h"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    deadline = time.monotonic() + 60
    while not celery_app.control.ping(timeout=0.5):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the Celery worker did not start:\n{log_path.read_text()[-3000:]}")
    yield process
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="session")
def docker_client():
    client = docker.from_env(timeout=120)
    yield client
    for container in client.containers.list(all=True, filters={"label": TEST_LABEL}):
        container.remove(force=True)
    for image in client.images.list(filters={"label": TEST_LABEL}):
        client.images.remove(image.id, force=True)
    client.close()


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.2):
    """Poll `predicate` until it returns something truthy; fail with a readable message on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout}s: {predicate.__doc__ or predicate}")
