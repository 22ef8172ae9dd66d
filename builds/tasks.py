"""Celery tasks: thin interfaces that load data and call services."""

from __future__ import annotations

from celery import shared_task

from builds import services


@shared_task(bind=True)
def record_worker_heartbeat(self) -> str:
    heartbeat = services.record_worker_heartbeat(self.request.hostname or "unknown")
    return heartbeat.docker_version
