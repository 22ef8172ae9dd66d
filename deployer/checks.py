"""Checks of the parts Deployer depends on, each answering quickly even when the part is down."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import connection

from builds import docker as docker_seam
from deployer import platform_state
from deployer.celery import app as celery_app

CHECK_TIMEOUT = 3


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return connection.vendor


def check_broker() -> str:
    url = celery_app.conf.broker_url
    if url.startswith("filesystem://"):
        folder = Path(celery_app.conf.broker_transport_options["data_folder_in"])
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".healthz"
        probe.write_text("ok")
        probe.unlink()
        return "filesystem"
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=CHECK_TIMEOUT)
    return conn.transport_cls if isinstance(conn.transport_cls, str) else "redis"


def check_docker() -> str:
    if settings.DEPLOYER_ENGINE_FROM_WORKER:
        # No socket here (the web service in production): the engine as a worker last saw it.
        return platform_state.engine_version()
    with docker_seam.client(timeout=CHECK_TIMEOUT) as client:
        return f"Docker {client.version()['Version']}"


CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "broker": check_broker,
    "docker": check_docker,
}


def run_all() -> dict[str, dict]:
    """Run every check; a failure is reported with its reason, never raised."""
    results = {}
    for name, check in CHECKS.items():
        started = time.monotonic()
        try:
            detail, ok = check(), True
        except Exception as exc:  # noqa: BLE001 - any failure is the answer
            detail, ok = docker_seam.describe_error(exc) if name == "docker" else str(exc), False
        elapsed = round((time.monotonic() - started) * 1000, 1)
        results[name] = {"ok": ok, "detail": detail, "ms": elapsed}
    return results
