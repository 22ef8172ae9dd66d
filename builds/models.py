from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q


class Build(models.Model):
    """One attempt to turn a commit (or an earlier image, for a rollback) into a live deployment."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        CLONING = "cloning", "Cloning"
        DETECTING = "detecting", "Detecting"
        BUILDING = "building", "Building"
        RELEASING = "releasing", "Releasing"
        STARTING = "starting", "Starting"
        HEALTH_CHECKING = "health_checking", "Health checking"
        SWITCHING = "switching", "Switching"
        LIVE = "live", "Live"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        SUPERSEDED = "superseded", "Superseded"

    RUNNING_STATES = (
        State.CLONING,
        State.DETECTING,
        State.BUILDING,
        State.RELEASING,
        State.STARTING,
        State.HEALTH_CHECKING,
        State.SWITCHING,
    )
    ACTIVE_STATES = (State.QUEUED, *RUNNING_STATES)
    FINISHED_STATES = (State.LIVE, State.FAILED, State.CANCELLED, State.SUPERSEDED)
    # The stages a build goes through, in order, as the UI shows them.
    STAGES = RUNNING_STATES

    class Trigger(models.TextChoices):
        MANUAL = "manual", "Manual"
        WEBHOOK = "webhook", "Webhook"
        ROLLBACK = "rollback", "Rollback"
        CLI = "cli", "Command line"

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="builds")
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.MANUAL)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    trigger_detail = models.CharField(max_length=200, blank=True)
    ref = models.CharField(max_length=255, blank=True, help_text="Branch or commit asked for.")
    commit_sha = models.CharField(max_length=40, blank=True)
    commit_message = models.CharField(max_length=500, blank=True)
    commit_author = models.CharField(max_length=200, blank=True)
    rollback_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="rollbacks"
    )

    state = models.CharField(max_length=20, choices=State.choices, default=State.QUEUED)
    cancel_requested = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # The build row is the outbox: when its task message was last sent or seen by a worker.
    # A queued build untouched for DEPLOYER_QUEUE_STALE_SECONDS lost its message, and the
    # sweeper sends it again (services.dispatch_stranded_builds).
    dispatched_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=255, blank=True)
    stage_timings = models.JSONField(default=dict, blank=True)

    plan = models.JSONField(null=True, blank=True)
    image_tag = models.CharField(max_length=255, blank=True)
    image_id = models.CharField(max_length=100, blank=True)
    image_size = models.BigIntegerField(null=True, blank=True)
    dependency_layer_cached = models.BooleanField(null=True, blank=True)
    # The dependency layer this build left for the next one to install on (issue 22,
    # builds/pipeline/incremental.py): {"layer", "digest", "requirements", "depth"}, or {}.
    dependency_base = models.JSONField(default=dict, blank=True)
    # Django's detected `migrate` is skipped when the live build's release ran with the same
    # fingerprint (builds.pipeline.fingerprint). The digest covers the files it depends on and
    # is kept so a rollback, which does not clone, can compute the fingerprint again.
    migrations_digest = models.CharField(max_length=64, blank=True)
    release_fingerprint = models.CharField(
        max_length=64, blank=True, help_text="Set once the release succeeded or was skipped."
    )
    # The ship report: from the container's start to its first healthy answer, and the
    # app's memory use DEPLOYER_MEMORY_SAMPLE_DELAY seconds after it went live.
    seconds_to_healthy = models.FloatField(null=True, blank=True)
    memory_usage_bytes = models.BigIntegerField(null=True, blank=True)

    failure_stage = models.CharField(max_length=20, blank=True)
    failure_reason = models.TextField(blank=True)
    log_line_count = models.PositiveIntegerField(default=0)
    log_truncated = models.BooleanField(default=False)
    # Set once no more lines can be written: followers stop polling then.
    log_complete = models.BooleanField(default=False)
    # Housekeeping deleted its log lines (DEPLOYER_KEEP_BUILD_LOGS newer builds exist).
    log_pruned = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["project", "state"]),
            models.Index(fields=["state"]),
            # A project's newest build (the projects list, the ship report) and the admin's
            # newest-first list: both read in the default ordering, along these.
            models.Index(fields=["project", "created_at", "id"], name="build_project_created"),
            models.Index(fields=["created_at", "id"], name="build_created"),
        ]
        constraints = [
            # A project runs one build at a time: the database says so, not a check before
            # the claim (two workers claiming two builds of one project: one claim fails).
            models.UniqueConstraint(
                fields=["project"],
                condition=models.Q(
                    state__in=[
                        "cloning",
                        "detecting",
                        "building",
                        "releasing",
                        "starting",
                        "health_checking",
                        "switching",
                    ]
                ),
                name="one_running_build_per_project",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project_id} build #{self.pk} ({self.state})"

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE_STATES

    @property
    def is_finished(self) -> bool:
        return self.state in self.FINISHED_STATES

    @property
    def short_sha(self) -> str:
        return self.commit_sha[:8]

    @property
    def duration(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class BuildLogLine(models.Model):
    """One line of a build's log. Append-only; `seq` lets a viewer resume after the last line it saw."""

    build = models.ForeignKey(Build, on_delete=models.CASCADE, related_name="log_lines")
    seq = models.PositiveIntegerField()
    stage = models.CharField(max_length=20, blank=True)
    time = models.DateTimeField(auto_now_add=True)
    text = models.TextField()

    class Meta:
        ordering = ["build", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["build", "seq"], name="unique_build_log_seq"),
        ]

    def __str__(self) -> str:
        return f"{self.seq}: {self.text[:60]}"


class Deployment(models.Model):
    """A web container started from a build's image: one per replica. The live ones of a
    project are all of one build."""

    class State(models.TextChoices):
        STARTING = "starting", "Starting"
        LIVE = "live", "Live"
        FAILED = "failed", "Failed"
        STOPPED = "stopped", "Stopped"
        SUPERSEDED = "superseded", "Superseded"

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="deployments"
    )
    build = models.ForeignKey(Build, on_delete=models.CASCADE, related_name="deployments")
    container_id = models.CharField(max_length=100, blank=True)
    container_name = models.CharField(max_length=200, blank=True)
    host_port = models.PositiveIntegerField(null=True, blank=True)
    # Which of the build's web containers this is (Project.web_replicas); 0 is the primary,
    # the one monitoring samples and the logs section follows.
    replica = models.PositiveSmallIntegerField(default=0)
    state = models.CharField(max_length=20, choices=State.choices, default=State.STARTING)
    started_at = models.DateTimeField(auto_now_add=True)
    live_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    stop_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        indexes = [models.Index(fields=["started_at", "id"], name="deployment_started")]
        constraints = [
            # One live build per project: each replica number is live once.
            models.UniqueConstraint(
                fields=["project", "replica"],
                condition=Q(state="live"),
                name="one_live_deployment_per_project_replica",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project_id} deployment of build #{self.build_id} ({self.state})"


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


class Installation(models.Model):
    """This Deployer installation's id (one row): see builds/installation.py."""

    key = models.CharField(max_length=32, unique=True)

    def __str__(self) -> str:
        return self.key

    @staticmethod
    def new_key() -> str:
        return secrets.token_hex(6)


class DetectionPreview(models.Model):
    """A preview of what a deploy would build, made by a worker: see builds/preview.py.

    `key` names the branch, app root and overrides it was asked for, so a second request for
    the same settings while one is being made reuses it.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Waiting for a worker"
        RUNNING = "running", "Cloning and reading"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="detection_previews"
    )
    key = models.CharField(max_length=64)
    branch = models.CharField(max_length=255)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    requested_at = models.DateTimeField()
    # A worker starts it only before this, and the page stops waiting for it after this.
    deadline = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    commit_sha = models.CharField(max_length=40, blank=True)
    plan = models.JSONField(null=True, blank=True)
    dockerfile = models.TextField(blank=True)
    dockerfile_note = models.TextField(blank=True)
    # For a repository with its own Dockerfile: the one Deployer would generate instead.
    generated_dockerfile = models.TextField(blank=True)
    notes = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        indexes = [models.Index(fields=["project", "key"])]

    def __str__(self) -> str:
        return f"{self.project_id} detection preview of {self.branch} ({self.state})"
