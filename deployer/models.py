"""The platform's own records: backups of Deployer's database (deployer/platform_backup.py)."""

from __future__ import annotations

from django.db import models


class PlatformBackup(models.Model):
    """One backup file of Deployer's own database, and whether a restore proved it."""

    class State(models.TextChoices):
        TAKEN = "taken", "Taken, not yet verified"
        VERIFIED = "verified", "Verified by a restore"
        FAILED = "failed", "Failed"

    created_at = models.DateTimeField(auto_now_add=True)
    reason = models.CharField(max_length=200, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.TAKEN)
    engine = models.CharField(max_length=16, blank=True)
    path = models.CharField(max_length=500, blank=True)
    size = models.BigIntegerField(default=0)
    # {table: rows} when it was taken, and in the throw-away copy it was restored into.
    tables = models.JSONField(default=dict, blank=True)
    restored_tables = models.JSONField(default=dict, blank=True)
    secrets_checked = models.IntegerField(default=0)
    verified_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Platform backup #{self.pk} ({self.get_state_display().lower()})"


class EngineReport(models.Model):
    """What a worker last saw of the Docker engine, for the staff page (one row per worker):
    the web process has no Docker socket in production."""

    hostname = models.CharField(max_length=255, unique=True)
    version = models.CharField(max_length=64, blank=True)
    live_restore = models.BooleanField(null=True)
    root_dir = models.CharField(max_length=500, blank=True)
    disk_total = models.BigIntegerField(null=True)
    disk_free = models.BigIntegerField(null=True)
    images = models.IntegerField(null=True)
    containers_running = models.IntegerField(null=True)
    error = models.TextField(blank=True)
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["-recorded_at"]

    def __str__(self) -> str:
        return f"{self.hostname}: Docker {self.version or 'unreachable'}"
