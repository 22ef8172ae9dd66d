from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from projects import crypto


class HealthState(models.TextChoices):
    HEALTHY = "healthy", "Healthy"
    UNHEALTHY = "unhealthy", "Unhealthy"
    CRASHED = "crashed", "Crashed"
    OOM_KILLED = "oom_killed", "Out of memory"
    STOPPED = "stopped", "Stopped"
    UNKNOWN = "unknown", "Unknown"


# States in which a live app is not serving as it should: entering or leaving them notifies.
PROBLEM_STATES = (HealthState.UNHEALTHY, HealthState.CRASHED, HealthState.OOM_KILLED)


class Monitor(models.Model):
    """The single row a periodic check claims, and what it last saw of the Docker engine."""

    engine_reachable = models.BooleanField(default=True)
    engine_error = models.TextField(blank=True)
    engine_since = models.DateTimeField(null=True, blank=True)
    # Set while a run is in progress: the claim that keeps two runs from overlapping.
    running_since = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_run_seconds = models.FloatField(null=True, blank=True)

    def __str__(self) -> str:
        return "Docker engine reachable" if self.engine_reachable else "Docker engine unreachable"


class AppHealth(models.Model):
    """A project's current health: what the overview reads, and what a check compares against."""

    project = models.OneToOneField(
        "projects.Project", on_delete=models.CASCADE, related_name="health"
    )
    deployment = models.ForeignKey(
        "builds.Deployment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(
        max_length=16, choices=HealthState.choices, default=HealthState.UNKNOWN
    )
    reason = models.TextField(blank=True)
    since = models.DateTimeField(default=timezone.now)
    checked_at = models.DateTimeField(null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.FloatField(null=True, blank=True)
    # Failed HTTP checks in a row: one slow answer does not make an app unhealthy.
    failures = models.PositiveIntegerField(default=0)
    # Docker's RestartCount of `deployment`'s container when last seen; an increase is a crash.
    restart_count = models.PositiveIntegerField(default=0)
    # Set when Deployer turned Docker's restarts off after a crash loop; cleared by a new deploy.
    restarts_stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "app health"
        verbose_name_plural = "app health"
        indexes = [models.Index(fields=["state"])]

    def __str__(self) -> str:
        return f"{self.project} is {self.state}"


class HealthCheck(models.Model):
    """One periodic check of a live app: the samples behind uptime and the response-time chart."""

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="health_checks"
    )
    deployment = models.ForeignKey(
        "builds.Deployment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    checked_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=16, choices=HealthState.choices)
    ok = models.BooleanField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-checked_at", "-pk"]
        indexes = [
            models.Index(fields=["project", "checked_at"]),
            models.Index(fields=["checked_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.project_id} {self.state} at {self.checked_at:%Y-%m-%d %H:%M:%S}"


class HealthEvent(models.Model):
    """Something that changed: a state, a restart, a deploy, the engine. Never a repeat."""

    class Kind(models.TextChoices):
        STATE = "state", "State changed"
        RESTARTED = "restarted", "Restarted by Docker"
        RESTARTS_STOPPED = "restarts_stopped", "Restarts stopped"
        DEPLOYED = "deployed", "Deployed"
        DEPLOY_FAILED = "deploy_failed", "Deploy failed"
        ENGINE_UNREACHABLE = "engine_unreachable", "Docker engine unreachable"
        ENGINE_REACHABLE = "engine_reachable", "Docker engine reachable"
        ALERT = "alert", "Alert"
        ALERT_ENDED = "alert_ended", "Alert ended"

    ENGINE_KINDS = (Kind.ENGINE_UNREACHABLE, Kind.ENGINE_REACHABLE)

    # Null for an event of the Docker engine itself, which concerns every project.
    project = models.ForeignKey(
        "projects.Project",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="health_events",
    )
    deployment = models.ForeignKey(
        "builds.Deployment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    build = models.ForeignKey(
        "builds.Build", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    state = models.CharField(max_length=16, choices=HealthState.choices, blank=True)
    previous_state = models.CharField(max_length=16, choices=HealthState.choices, blank=True)
    reason = models.TextField(blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    restarts = models.PositiveIntegerField(null=True, blank=True)
    # The last lines the app printed, secrets redacted, kept with a crash.
    logs = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["project", "created_at"]),
            models.Index(fields=["kind", "created_at"]),
        ]
        constraints = [
            # A build's outcome is announced once, however often its task runs.
            models.UniqueConstraint(
                fields=["build", "kind"],
                condition=Q(build__isnull=False),
                name="health_event_once_per_build",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project_id or 'engine'} {self.kind} {self.state}".strip()


class NotificationSettings(models.Model):
    """Where a project's health changes and deploy outcomes are sent."""

    class Format(models.TextChoices):
        GENERIC = "generic", "Generic JSON"
        SLACK = "slack", "Slack"
        DISCORD = "discord", "Discord"

    project = models.OneToOneField(
        "projects.Project", on_delete=models.CASCADE, related_name="notification_settings"
    )
    email_owner = models.BooleanField("email the owner", default=True)
    extra_emails = models.TextField(
        "other email addresses", blank=True, help_text="One per line or separated by commas."
    )
    # Fernet tokens (see projects.crypto): Slack and Discord webhook URLs are credentials.
    encrypted_webhook_url = models.TextField(blank=True, editable=False)
    webhook_format = models.CharField(max_length=10, choices=Format.choices, default=Format.GENERIC)
    encrypted_signing_secret = models.TextField(editable=False)
    on_health = models.BooleanField("when the app's health changes", default=True)
    on_deploy = models.BooleanField("when a deploy succeeds or fails", default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "notification settings"
        verbose_name_plural = "notification settings"

    def __str__(self) -> str:
        return f"notifications of {self.project}"

    @property
    def has_webhook(self) -> bool:
        return bool(self.encrypted_webhook_url)

    def webhook_url(self) -> str:
        return crypto.decrypt(self.encrypted_webhook_url) if self.encrypted_webhook_url else ""

    def signing_secret(self) -> str:
        return crypto.decrypt(self.encrypted_signing_secret)


class NotificationDelivery(models.Model):
    """One message to one channel, with every attempt to send it."""

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        WEBHOOK = "webhook", "Webhook"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="notification_deliveries"
    )
    event = models.ForeignKey(
        HealthEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    kind = models.CharField(max_length=30)
    # Addresses, or the webhook URL with its path hidden (it may hold a token).
    target = models.CharField(max_length=500)
    subject = models.CharField(max_length=300)
    # The exact text or JSON sent: a retry sends the same bytes, so the same signature.
    body = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "notification deliveries"
        indexes = [models.Index(fields=["project", "created_at"]), models.Index(fields=["status"])]

    def __str__(self) -> str:
        return f"{self.channel} {self.kind} to {self.target} ({self.status})"


class MetricSample(models.Model):
    """What one app used and served over one period: a metrics round (raw) or 5 minutes of them.

    A figure that could not be read (the container went, the engine was away) is null: the
    chart shows a gap there, never a zero.
    """

    class Resolution(models.TextChoices):
        RAW = "raw", "One round"
        FIVE_MINUTES = "5m", "5 minutes"

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="metric_samples"
    )
    deployment = models.ForeignKey(
        "builds.Deployment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    resolution = models.CharField(max_length=3, choices=Resolution.choices, default="raw")
    # Seconds of the period this sample covers (a round's interval, or 300).
    seconds = models.FloatField(default=0)
    # Percent of one CPU, averaged over the period.
    cpu_percent = models.FloatField(null=True, blank=True)
    memory_bytes = models.BigIntegerField(null=True, blank=True)
    memory_limit_bytes = models.BigIntegerField(null=True, blank=True)
    net_rx_bytes = models.BigIntegerField(null=True, blank=True)
    net_tx_bytes = models.BigIntegerField(null=True, blank=True)
    # Docker's restart count of the deployment's container at the end of the period.
    restarts = models.PositiveIntegerField(null=True, blank=True)
    # From the router's access log; null when the log could not be read.
    requests = models.PositiveIntegerField(null=True, blank=True)
    status_2xx = models.PositiveIntegerField(default=0)
    status_3xx = models.PositiveIntegerField(default=0)
    status_4xx = models.PositiveIntegerField(default=0)
    status_5xx = models.PositiveIntegerField(default=0)
    p50_ms = models.FloatField(null=True, blank=True)
    p95_ms = models.FloatField(null=True, blank=True)
    # Request latencies as a sparse log-scale histogram (monitoring.latency): 5-minute
    # samples merge these, since percentiles of percentiles are not percentiles.
    latency_histogram = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(fields=["project", "resolution", "at"]),
            models.Index(fields=["resolution", "at"]),
        ]

    def __str__(self) -> str:
        return f"{self.project_id} {self.resolution} at {self.at:%Y-%m-%d %H:%M:%S}"


class MetricAlert(models.Model):
    """One episode of an alert rule firing for a project: open until the rule stops firing."""

    class Rule(models.TextChoices):
        MEMORY = "memory", "Memory near its limit"
        ERRORS = "5xx", "Server errors"
        RESTARTS = "restarts", "Restarts"

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="metric_alerts"
    )
    rule = models.CharField(max_length=10, choices=Rule.choices)
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            # One open episode per rule and project, however many rounds overlap.
            models.UniqueConstraint(
                fields=["project", "rule"],
                condition=Q(ended_at__isnull=True),
                name="one_open_alert_per_rule",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project_id} {self.rule} {'open' if self.ended_at is None else 'ended'}"


class MetricsCursor(models.Model):
    """The single row a metrics round claims: where the router log was read up to, and the
    containers' counters last read (CPU time, network bytes), which the next round subtracts."""

    running_since = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_run_seconds = models.FloatField(null=True, blank=True)
    log_inode = models.BigIntegerField(null=True, blank=True)
    log_offset = models.BigIntegerField(default=0)
    # Access log lines that did not parse, in all: a count, never an error.
    log_bad_lines = models.BigIntegerField(default=0)
    # {deployment id: [read time (epoch s), cpu ns, rx bytes, tx bytes]}
    counters = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"metrics cursor at byte {self.log_offset}"
