"""A pull request's preview: the production project's child that runs the PR's head commit.

The running part is an ordinary Project (Project.parent set, slug pr-<n>-<parent>), so builds,
the per-project lock, its own network, routes, cleanup and deletion are the pipeline's own.
This row is what the child cannot say: which pull request, whether it waits for an approval or
a free slot, and why."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


def default_max_running() -> int:
    return settings.DEPLOYER_PREVIEW_MAX


def default_idle_hours() -> int:
    return settings.DEPLOYER_PREVIEW_IDLE_HOURS


class PreviewSettings(models.Model):
    """A project's preview settings; a project without a row has the operator's defaults."""

    project = models.OneToOneField(
        "projects.Project", on_delete=models.CASCADE, related_name="preview_settings"
    )
    enabled = models.BooleanField(
        "previews on",
        default=True,
        help_text="Build a preview of every pull request to the project's branch.",
    )
    max_running = models.PositiveIntegerField(
        "at most running at once",
        default=default_max_running,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
        help_text="More wait, queued, until one closes or stops.",
    )
    idle_hours = models.PositiveIntegerField(
        "stop after idle hours",
        default=default_idle_hours,
        validators=[MaxValueValidator(24 * 365)],
        help_text="Stop a preview with no push or approval for this long (0: never).",
    )
    # Commit statuses sent back to the git host (previews/status.py), when both are set: the
    # repository's API address (GitHub's or Gitea's/Forgejo's shape) and a token (a Fernet
    # token here; the plaintext exists only in memory and is never shown again).
    status_api_url = models.URLField(
        "commit status API",
        max_length=500,
        blank=True,
        help_text="e.g. https://api.github.com/repos/OWNER/REPO or "
        "https://gitea.example.com/api/v1/repos/OWNER/REPO; empty: no commit statuses.",
    )
    encrypted_status_token = models.TextField(blank=True, editable=False)

    def __str__(self) -> str:
        return f"preview settings of {self.project}"

    @property
    def reports_status(self) -> bool:
        return bool(self.status_api_url and self.encrypted_status_token)


class Preview(models.Model):
    class State(models.TextChoices):
        WAITING_APPROVAL = "waiting_approval", "Waiting for approval"
        QUEUED = "queued", "Queued"  # waiting for a free slot (or the previous child's removal)
        ACTIVE = "active", "Running"  # has a child project: its builds say the rest
        STOPPED = "stopped", "Stopped"
        CLOSED = "closed", "Closed"

    # States that hold one of the project's slots.
    RUNNING_STATES = (State.ACTIVE,)

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="previews"
    )
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200, blank=True)
    url = models.URLField(max_length=500, blank=True)
    head_branch = models.CharField(max_length=255, blank=True)
    head_sha = models.CharField(max_length=40, blank=True)
    head_repo = models.CharField(max_length=255, blank=True)
    from_fork = models.BooleanField(default=False)
    opened_by = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.QUEUED)
    reason = models.CharField(max_length=500, blank=True)
    # A fork's preview builds only a commit someone approved: a push after the approval
    # waits for a new one (the stranger's next commit is code nobody has looked at).
    approved_sha = models.CharField(max_length=40, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    child = models.OneToOneField(
        "projects.Project",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="preview",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_activity = models.DateTimeField()
    queued_at = models.DateTimeField(null=True, blank=True)
    # What the git host answered to the last commit status (previews/status.py): shown, so a
    # wrong token is seen on the Previews page.
    status_note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="preview_once_per_pr"),
        ]
        indexes = [models.Index(fields=["state", "queued_at"])]

    def __str__(self) -> str:
        return f"PR #{self.number} of {self.project}"

    @property
    def short_sha(self) -> str:
        return self.head_sha[:8]
