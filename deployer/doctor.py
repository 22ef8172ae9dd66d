"""`manage.py platform doctor`: what a production install needs, each checked and, when it
fails, the fix in one sentence.

Run it where the worker runs (it asks the Docker engine): in the compose stack,
`docker compose exec worker python manage.py platform doctor`.
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.utils import timezone

from builds import docker as docker_seam
from deployer.platform_backup import last_verified

TCP_MIGRATE_REQ = Path("/proc/sys/net/ipv4/tcp_migrate_req")
# Free space on the engine's disk below which the doctor warns: room for a few builds.
FREE_DISK_FACTOR = 2


@dataclass(frozen=True)
class Finding:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def engine_info() -> dict:
    """The engine's `docker info` (the one seam that leaves the process)."""
    with docker_seam.client(timeout=10) as client:
        return client.info()


def check_engine(info: dict | None, error: str) -> Finding:
    if info is None:
        return Finding(
            "Docker engine",
            False,
            error,
            "Start dockerd and give the worker its socket (/var/run/docker.sock).",
        )
    if not info.get("LiveRestoreEnabled"):
        return Finding(
            "Docker engine",
            False,
            f"Docker {info.get('ServerVersion', '?')} runs without live-restore: restarting or "
            "upgrading dockerd stops every app.",
            'Add "live-restore": true to /etc/docker/daemon.json and reload dockerd '
            "(kill -HUP $(pidof dockerd)), or run scripts/docker-engine.sh.",
        )
    return Finding("Docker engine", True, f"Docker {info.get('ServerVersion')} with live-restore.")


def check_tcp_migrate_req(path: Path = TCP_MIGRATE_REQ) -> Finding:
    try:
        value = path.read_text().strip()
    except OSError:
        return Finding(
            "net.ipv4.tcp_migrate_req",
            False,
            "This kernel has no net.ipv4.tcp_migrate_req (Linux 5.14+): each route switch may "
            "reset a connection.",
            "Run a kernel of Linux 5.14 or newer.",
        )
    if value != "1":
        return Finding(
            "net.ipv4.tcp_migrate_req",
            False,
            f"net.ipv4.tcp_migrate_req is {value}: each route switch may reset a connection "
            "queued on Caddy's old listener.",
            "echo net.ipv4.tcp_migrate_req=1 > /etc/sysctl.d/90-deployer.conf && sysctl --system",
        )
    return Finding("net.ipv4.tcp_migrate_req", True, "1: a route switch resets no connection.")


def check_free_disk(info: dict | None) -> Finding:
    root = (info or {}).get("DockerRootDir") or ""
    if not root or not os.path.isdir(root):
        return Finding(
            "Free disk",
            False,
            f"The engine's folder ({root or 'unknown'}) is not visible here, so its free space "
            "is unknown.",
            "Run the doctor in the worker container (it mounts the engine's folder read-only).",
        )
    usage = shutil.disk_usage(root)
    free_mb, need_mb = (
        usage.free // 1_000_000,
        settings.DEPLOYER_MIN_FREE_DISK_MB * FREE_DISK_FACTOR,
    )
    detail = f"{free_mb} MB free of {usage.total // 1_000_000} MB on the engine's disk ({root})."
    if free_mb < need_mb:
        return Finding(
            "Free disk",
            False,
            detail,
            f"Free space or grow the disk: builds are refused below "
            f"{settings.DEPLOYER_MIN_FREE_DISK_MB} MB (DEPLOYER_MIN_FREE_DISK_MB).",
        )
    return Finding("Free disk", True, detail)


def check_deploy_checks() -> Finding:
    out = io.StringIO()
    try:
        call_command("check", deploy=True, fail_level="WARNING", stdout=out, stderr=out)
    except SystemCheckError as exc:
        first = next((line for line in str(exc).splitlines() if line.startswith("?:")), str(exc))
        return Finding(
            "check --deploy",
            False,
            first.strip()[:300],
            "Run `manage.py check --deploy` and set what it names in .env (see .env.example).",
        )
    return Finding("check --deploy", True, "No issues.")


def check_secrets_key() -> Finding:
    if not settings.DEPLOYER_SECRETS_KEY:
        return Finding(
            "Secrets key",
            False,
            "DEPLOYER_SECRETS_KEY is not set: environment variables are encrypted with a key "
            "derived from SECRET_KEY.",
            "Generate one (`manage.py generate_secrets_key`), set it in .env, and run "
            "`manage.py rotate_secrets_key`.",
        )
    return Finding("Secrets key", True, "DEPLOYER_SECRETS_KEY is set.")


def check_backups() -> Finding:
    backup = last_verified()
    max_age = settings.DEPLOYER_PLATFORM_BACKUP_MAX_AGE_HOURS
    fix = (
        "Run `manage.py platform backup` and keep DEPLOYER_PLATFORM_BACKUP_INTERVAL above 0; "
        "see why the last one failed with `manage.py platform backups`."
    )
    if backup is None:
        return Finding("Platform backups", False, "No verified platform backup exists.", fix)
    age_hours = (timezone.now() - backup.created_at).total_seconds() / 3600
    detail = f"The last verified backup (#{backup.pk}) is {age_hours:.1f} hours old."
    if age_hours > max_age:
        return Finding("Platform backups", False, detail + f" (limit {max_age:g} h)", fix)
    return Finding("Platform backups", True, detail)


def run(info_of: Callable[[], dict] = engine_info) -> list[Finding]:
    try:
        info, error = info_of(), ""
    except Exception as exc:  # noqa: BLE001 - an unreachable engine is a finding
        info, error = None, docker_seam.describe_error(exc)
    return [
        check_engine(info, error),
        check_tcp_migrate_req(),
        check_free_disk(info),
        check_deploy_checks(),
        check_secrets_key(),
        check_backups(),
    ]
