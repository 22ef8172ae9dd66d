from __future__ import annotations

from django.db import models
from django.db.models import Q

from projects import crypto


class Provider(models.TextChoices):
    GITHUB = "github", "GitHub"
    GITLAB = "gitlab", "GitLab"
    GITEA = "gitea", "Gitea"
    FORGEJO = "forgejo", "Forgejo"
    BITBUCKET = "bitbucket", "Bitbucket Cloud"
    GENERIC = "generic", "Generic (post-receive)"


class WebhookEndpoint(models.Model):
    """A project's webhook secret: every provider signs with it (GitLab sends it as a token)."""

    project = models.OneToOneField(
        "projects.Project", on_delete=models.CASCADE, related_name="webhook_endpoint"
    )
    # A Fernet token; the plaintext exists only in memory (see projects.crypto).
    encrypted_secret = models.TextField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "webhook endpoint"

    def __str__(self) -> str:
        return f"webhook of {self.project}"

    def decrypted_secret(self) -> str:
        return crypto.decrypt(self.encrypted_secret)


class Delivery(models.Model):
    """One authenticated notification from a git host and what Deployer did with it."""

    class Verdict(models.TextChoices):
        # A build was queued: what happens to it is the build's to say, not the delivery's.
        QUEUED = "queued", "Queued"
        IGNORED = "ignored", "Ignored"
        DUPLICATE = "duplicate", "Duplicate"
        REJECTED = "rejected", "Rejected"
        RATE_LIMITED = "rate_limited", "Rate limited"
        STALE = "stale", "Older than live"
        # Pull requests (previews/): waiting for an approval or a free slot; preview removed.
        HELD = "held", "Held"
        REMOVED = "removed", "Preview removed"

    # A delivery id may be recorded once with these verdicts: a provider's redelivery of it
    # then finds the row (or hits the constraint when both arrive at the same moment).
    CLAIMING_VERDICTS = (Verdict.QUEUED, Verdict.IGNORED)

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="webhook_deliveries"
    )
    received_at = models.DateTimeField(auto_now_add=True)
    provider = models.CharField(max_length=16, choices=Provider.choices)
    event = models.CharField(max_length=64, blank=True)
    delivery_id = models.CharField(max_length=100, blank=True)
    ref = models.CharField(max_length=255, blank=True)
    commit_sha = models.CharField(max_length=40, blank=True)
    pusher = models.CharField(max_length=100, blank=True)
    verdict = models.CharField(max_length=16, choices=Verdict.choices)
    reason = models.CharField(max_length=500, blank=True)
    status_code = models.PositiveSmallIntegerField()
    build = models.ForeignKey(
        "builds.Build",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="webhook_deliveries",
    )

    class Meta:
        ordering = ["-received_at", "-pk"]
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(fields=["project", "-received_at"]),
            # The admin's newest-first list of every delivery.
            models.Index(fields=["received_at", "id"], name="delivery_received"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "delivery_id"],
                condition=Q(verdict__in=["queued", "ignored"]) & ~Q(delivery_id=""),
                name="webhook_delivery_once_per_project",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event} {self.delivery_id or '-'} ({self.verdict})"

    @property
    def short_sha(self) -> str:
        return self.commit_sha[:8]
