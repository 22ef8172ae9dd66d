"""The platform's own state, for operators: each service's version and health, the engine's
disk, the last verified platform backup, the workers and the queue.

The web process answers without the Docker engine (it has no socket in production): what a
worker last saw of it is recorded every minute (`record_engine_state`, run by beat) and read
here. Every probe is bounded by a short timeout and reports a failure instead of raising.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import requests
from django.conf import settings
from django.db import connection
from django.utils import timezone

from builds import docker as docker_seam
from deployer.models import EngineReport, PlatformBackup
from deployer.platform_backup import last_verified

PROBE_TIMEOUT = 3
# A worker that has not reported for this long is counted as gone.
WORKER_STALE = timedelta(minutes=3)


@dataclass
class Service:
    name: str
    ok: bool
    version: str = ""
    detail: str = ""
    ms: float = 0.0


@dataclass
class PlatformState:
    services: list[Service] = field(default_factory=list)
    engine: EngineReport | None = None
    workers: list[EngineReport] = field(default_factory=list)
    queue_length: int | None = None
    last_backup: PlatformBackup | None = None
    last_attempt: PlatformBackup | None = None


def database_version() -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT sqlite_version()")
            return f"SQLite {cursor.fetchone()[0]}"
        cursor.execute("SHOW server_version")
        return f"PostgreSQL {cursor.fetchone()[0].split()[0]}"


def _redis():
    """The redis module, imported on first use: with the embedded broker no process needs it,
    and a web process would otherwise carry it (17 MB) for the staff page alone."""
    import redis

    return redis


def broker_version() -> str:
    if not settings.REDIS_URL:
        return "file-system broker (embedded)"
    client = _redis().Redis.from_url(settings.REDIS_URL, socket_timeout=PROBE_TIMEOUT)
    try:
        return f"Redis {client.info('server')['redis_version']}"
    finally:
        client.close()


def caddy_version() -> str:
    """Caddy's admin API has no version endpoint: answering its config is the health."""
    response = requests.get(f"{settings.DEPLOYER_CADDY_ADMIN_URL}/config/", timeout=PROBE_TIMEOUT)
    response.raise_for_status()
    server = response.headers.get("Server", "")
    return server or "Caddy (admin API answers)"


def engine_version() -> str:
    """The engine as the newest worker report saw it (the web has no socket in production)."""
    report = EngineReport.objects.first()
    if report is None:
        raise RuntimeError("No worker has reported on the Docker engine yet.")
    if timezone.now() - report.recorded_at > WORKER_STALE:
        raise RuntimeError(f"No worker has reported since {report.recorded_at:%Y-%m-%d %H:%M} UTC.")
    if report.error:
        raise RuntimeError(report.error)
    return f"Docker {report.version}"


PROBES: dict[str, Callable[[], str]] = {
    "Deployer": lambda: settings.DEPLOYER_VERSION,
    "Database": database_version,
    "Broker": broker_version,
    "Docker engine": engine_version,
    "Caddy": caddy_version,
}


def probe(name: str, check: Callable[[], str]) -> Service:
    started = time.monotonic()
    try:
        version, ok, detail = check(), True, ""
    except Exception as exc:  # noqa: BLE001 - any failure is the answer
        version, ok, detail = "", False, str(exc)[:300]
    return Service(name, ok, version, detail, round((time.monotonic() - started) * 1000, 1))


def queue_length() -> int | None:
    """Tasks waiting in the broker's default queue (None with the embedded broker)."""
    if not settings.REDIS_URL:
        return None
    redis = _redis()
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=PROBE_TIMEOUT)
    try:
        return int(client.llen("celery"))
    except redis.RedisError:
        return None
    finally:
        client.close()


def gather() -> PlatformState:
    workers = list(EngineReport.objects.filter(recorded_at__gte=timezone.now() - WORKER_STALE))
    return PlatformState(
        services=[probe(name, check) for name, check in PROBES.items()],
        engine=EngineReport.objects.first(),
        workers=workers,
        queue_length=queue_length(),
        last_backup=last_verified(),
        last_attempt=PlatformBackup.objects.first(),
    )


def record_engine_state(hostname: str | None = None) -> EngineReport:
    """Ask the engine for its version, live-restore and disk, and store what this worker saw."""
    values: dict = {"error": "", "recorded_at": timezone.now()}
    try:
        with docker_seam.client(timeout=PROBE_TIMEOUT * 2) as client:
            info = client.info()
            values.update(
                version=info.get("ServerVersion", ""),
                live_restore=bool(info.get("LiveRestoreEnabled")),
                root_dir=info.get("DockerRootDir", ""),
                images=info.get("Images"),
                containers_running=info.get("ContainersRunning"),
            )
    except Exception as exc:  # noqa: BLE001 - an unreachable engine is the recorded result
        values["error"] = docker_seam.describe_error(exc)
    root = values.get("root_dir") or ""
    # Visible when the engine is local (the compose file mounts its folder read-only).
    if root and os.path.isdir(root):
        usage = shutil.disk_usage(root)
        values.update(disk_total=usage.total, disk_free=usage.free)
    report, _ = EngineReport.objects.update_or_create(
        hostname=hostname or socket.gethostname(), defaults=values
    )
    return report
