"""Celery tasks: the worker removes detached volumes and measures them (beat)."""

from __future__ import annotations

from celery import shared_task

from builds import docker as docker_seam
from volumes import services


@shared_task(soft_time_limit=120, time_limit=150)
def settle_volumes() -> dict:
    """Every DEPLOYER_VOLUME_CHECK_INTERVAL seconds, and once after a removal is asked for."""
    try:
        with docker_seam.client() as client:
            return services.settle(client)
    except docker_seam.DockerUnavailable as exc:
        return {"error": str(exc)}
