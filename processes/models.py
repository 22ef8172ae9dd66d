"""A project's processes beside the web (worker: ...), its cron jobs and their runs."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class Process(models.Model):
    """One container of a non-web process type of a build, started after the build's switch.

    `engine_state` and `restart_count` are what the engine said at `observed_at` (a periodic
    task asks; the web process may have no access to the engine).
    """

    class State(models.TextChoices):
        RUNNING = "running", "Running"
        FAILED = "failed", "Failed to start"
        STOPPED = "stopped", "Stopped"

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="processes"
    )
    build = models.ForeignKey("builds.Build", on_delete=models.CASCADE, related_name="processes")
    name = models.CharField(max_length=64)
    command = models.TextField()
    container_id = models.CharField(max_length=100, blank=True)
    container_name = models.CharField(max_length=200, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.RUNNING)
    engine_state = models.CharField(max_length=20, blank=True)
    restart_count = models.PositiveIntegerField(default=0)
    observed_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    stop_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["name", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["build", "name"],
                condition=Q(state="running"),
                name="one_running_process_per_build_and_name",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} of build #{self.build_id} ({self.state})"


class CronJob(models.Model):
    """A command run on a schedule in a one-off container from the live image."""

    class Source(models.TextChoices):
        DASHBOARD = "dashboard", "Dashboard"
        CONFIG = "config", "deployer.toml"

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="cron_jobs"
    )
    name = models.CharField(max_length=64)
    schedule = models.CharField(max_length=100)  # five cron fields, validated by cron.check
    command = models.TextField()
    enabled = models.BooleanField(default=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.DASHBOARD)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="unique_cron_job_name")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.schedule})"


class CronRun(models.Model):
    """One run of a cron job. A job has at most one run unfinished: it never overlaps itself."""

    class State(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        TIMED_OUT = "timed_out", "Timed out"
        LOST = "lost", "Lost"

    job = models.ForeignKey(CronJob, on_delete=models.CASCADE, related_name="runs")
    build = models.ForeignKey(
        "builds.Build", on_delete=models.SET_NULL, null=True, blank=True, related_name="cron_runs"
    )
    # The minute it was due (None: run by hand); with the job, unique, so a beat tick sent
    # twice runs it once.
    scheduled_for = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    output = models.TextField(blank=True)  # capped, secrets redacted

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["job"], condition=Q(state="running"), name="one_running_run_per_cron_job"
            ),
            models.UniqueConstraint(
                fields=["job", "scheduled_for"], name="one_run_per_cron_job_and_minute"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.job_id} run at {self.started_at:%Y-%m-%d %H:%M} ({self.state})"
