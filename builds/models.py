from __future__ import annotations

from django.db import models


class WorkerHeartbeat(models.Model):
    """What a Celery worker last saw of the Docker engine, written by a periodic task."""

    hostname = models.CharField(max_length=255, unique=True)
    docker_version = models.CharField(max_length=64, blank=True)
    docker_error = models.TextField(blank=True)
    seen_at = models.DateTimeField()

    class Meta:
        ordering = ["-seen_at"]

    def __str__(self) -> str:
        return f"{self.hostname} (Docker {self.docker_version or 'unreachable'})"
