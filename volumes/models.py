"""A project's persistent volume: an engine volume mounted at a path of its app's containers."""

from __future__ import annotations

from django.db import models


class Volume(models.Model):
    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="volumes"
    )
    name = models.CharField(max_length=40)
    path = models.CharField(max_length=200)
    # The engine's name for it, fixed at creation: deployer-vol-<project>-<name>-<random>.
    engine_name = models.CharField(max_length=200, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when its removal was asked for: no longer mounted; the engine volume goes as soon
    # as no container holds it (at once, or after the next deploy replaced the live one).
    removing_at = models.DateTimeField(null=True, blank=True)
    # The engine's measure of the data on it (docker system df), and when it was taken.
    size = models.BigIntegerField(null=True, blank=True)
    measured_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["project", "path"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="volume_name_once_per_project")
        ]

    def __str__(self) -> str:
        return f"{self.project.slug} {self.name} at {self.path}"
