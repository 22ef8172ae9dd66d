"""Writes that the builds app makes, called from tasks, views, the admin and commands."""

from __future__ import annotations

from django.utils import timezone

from builds import docker as docker_seam
from builds.models import WorkerHeartbeat


def record_worker_heartbeat(hostname: str) -> WorkerHeartbeat:
    """Ask the Docker engine for its version and store what this worker saw."""
    version, error = "", ""
    try:
        with docker_seam.client(timeout=5) as client:
            version = client.version()["Version"]
    except Exception as exc:  # noqa: BLE001 - an unreachable engine is the recorded result
        error = docker_seam.describe_error(exc)
    heartbeat, _ = WorkerHeartbeat.objects.update_or_create(
        hostname=hostname,
        defaults={"docker_version": version, "docker_error": error, "seen_at": timezone.now()},
    )
    return heartbeat
