from __future__ import annotations

from django.db import models

from routing.validators import validate_hostname


class Domain(models.Model):
    """A custom domain a project answers on, besides its own <slug>.<base domain>."""

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="domains"
    )
    # Stored lower-cased (routing.services normalises), so uniqueness ignores case as DNS does.
    hostname = models.CharField(
        max_length=253,
        unique=True,
        validators=[validate_hostname],
        error_messages={"unique": "This domain is already in use."},
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["hostname"]

    def __str__(self) -> str:
        return self.hostname
