"""Personal API tokens: what a script or the `deployer` CLI sends as `Authorization: Bearer`."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class ApiToken(models.Model):
    """A token of one user, limited to its scopes and, optionally, to one project.

    Only the SHA-256 of the token is stored; `prefix` (its first characters, shown in lists)
    finds the row. A token restricted to one project with the deploy scope is that project's
    deploy key for CI.
    """

    class Scope(models.TextChoices):
        READ = "read", "Read: see projects, builds, logs and health"
        DEPLOY = "deploy", "Deploy: also deploy, roll back and cancel builds"
        ADMIN = "admin", "Admin: also change variables, domains, add-ons and settings"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    hashed_secret = models.CharField(max_length=64, editable=False)
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.READ)
    project = models.ForeignKey(
        "projects.Project",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        help_text="Only this project; empty for every project the user may see.",
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…) of {self.user}"

    @property
    def label(self) -> str:
        """Who the audit log names for what this token did."""
        return f"token {self.name} of {self.user.get_username()}"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and not self.is_expired
