"""An add-on: a service a project's app uses (PostgreSQL, Redis), run by Deployer beside it."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from addons import kinds
from projects import crypto
from projects.validators import validate_env_key


def default_backup_every_hours() -> int:
    return settings.DEPLOYER_ADDON_BACKUP_EVERY_HOURS


def default_keep_backups() -> int:
    return settings.DEPLOYER_ADDON_KEEP_BACKUPS


class AddOn(models.Model):
    class Kind(models.TextChoices):
        POSTGRES = "postgres", "PostgreSQL"
        REDIS = "redis", "Redis"

    class State(models.TextChoices):
        CREATING = "creating", "Creating"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    class Health(models.TextChoices):
        UNKNOWN = "unknown", "Not checked yet"
        UP = "up", "Answering"
        DOWN = "down", "Down"

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="addons")
    kind = models.CharField(max_length=20, choices=Kind)
    state = models.CharField(max_length=20, choices=State, default=State.CREATING)
    # What the engine runs: the image asked for and the container and volume names.
    image = models.CharField(max_length=200)
    container_name = models.CharField(max_length=200)
    volume_name = models.CharField(max_length=200)
    database = models.CharField(max_length=63)
    user = models.CharField(max_length=63)
    encrypted_password = models.TextField(editable=False)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    # The name of the connection URL variable (DATABASE_URL, REDIS_URL) when the project
    # renamed it; blank: the kind's usual name.
    variable = models.CharField(
        max_length=100,
        blank=True,
        validators=[validate_env_key],
        help_text="The name of the variable that holds its URL (blank: the usual one).",
    )
    # What the periodic check (addons/health.py) last saw.
    health = models.CharField(max_length=10, choices=Health, default=Health.UNKNOWN)
    health_reason = models.TextField(blank=True)
    health_since = models.DateTimeField(null=True, blank=True)
    health_checked_at = models.DateTimeField(null=True, blank=True)
    backup_every_hours = models.PositiveIntegerField(
        default=default_backup_every_hours,
        validators=[MaxValueValidator(24 * 31)],
        help_text="A backup every this many hours (0: none scheduled).",
    )
    keep_backups = models.PositiveSmallIntegerField(
        default=default_keep_backups,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text="The newest this many backups are kept; older ones are deleted.",
    )

    class Meta:
        ordering = ["project", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "kind"], name="one_addon_of_a_kind_per_project"
            )
        ]

    def __str__(self) -> str:
        return f"{self.project.slug} {self.get_kind_display()}"

    def password(self) -> str:
        return crypto.decrypt(self.encrypted_password)

    @property
    def spec(self) -> kinds.Kind:
        return kinds.of(self.kind)

    @property
    def url_variable(self) -> str:
        return self.variable or self.spec.url_variable


class Backup(models.Model):
    """One dump of an add-on's data (pg_dump, or a Redis RDB snapshot); it counts only once
    restored into a throw-away copy."""

    class State(models.TextChoices):
        TAKEN = "taken", "Taken, not yet verified"
        VERIFIED = "verified", "Verified by a restore"
        FAILED = "failed", "Failed"

    addon = models.ForeignKey(AddOn, on_delete=models.CASCADE, related_name="backups")
    state = models.CharField(max_length=20, choices=State, default=State.TAKEN)
    reason = models.CharField(max_length=200, blank=True)  # why it was taken
    path = models.CharField(max_length=500, blank=True)
    size = models.BigIntegerField(default=0)
    # {table: rows} of the live database when it was taken, and of the restored copy
    # (Redis: {db0: keys, ...}).
    tables = models.JSONField(default=dict, blank=True)
    restored_tables = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    # The off-site copy (addons/offsite.py, DEPLOYER_BACKUP_S3_URL): its address, or why not.
    offsite_url = models.CharField(max_length=1100, blank=True)
    offsite_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"backup #{self.pk} of {self.addon} ({self.state})"
