"""Cron jobs: defined on the dashboard or in deployer.toml, due each minute by their schedule,
each run a one-off container from the live image, recorded with its output."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from addons import services as addon_services
from builds import docker as docker_seam
from builds import runner
from builds.buildlog import Redactor, clean
from builds.models import Deployment
from builds.pipeline.errors import StageError
from builds.pipeline.plan import Plan
from deployer.celery import task
from processes import cron, engine
from processes.models import CronJob, CronRun
from projects import audit
from projects import services as project_services

logger = logging.getLogger(__name__)
MAX_COMMAND = 1000


def create_job(
    project, *, name: str, schedule: str, command: str, enabled: bool = True, actor=None
) -> CronJob:
    """Add a cron job; ValidationError says what is wrong with the name, schedule or command."""
    name, schedule, command = _checked(name, schedule, command)
    if CronJob.objects.filter(project=project, name=name).exists():
        raise ValidationError(f"The project already has a cron job named {name!r}.")
    with transaction.atomic():
        job = CronJob.objects.create(
            project=project, name=name, schedule=schedule, command=command, enabled=enabled
        )
        audit.record(
            project,
            audit.Action.SETTINGS,
            actor=actor,
            summary=f"cron job {name} added ({schedule})",
        )
    return job


def set_enabled(job: CronJob, enabled: bool, *, actor=None) -> None:
    with transaction.atomic():
        CronJob.objects.filter(pk=job.pk).update(enabled=enabled)
        audit.record(
            job.project,
            audit.Action.SETTINGS,
            actor=actor,
            summary=f"cron job {job.name} {'enabled' if enabled else 'paused'}",
        )


def delete_job(job: CronJob, *, actor=None) -> None:
    with transaction.atomic():
        audit.record(
            job.project, audit.Action.SETTINGS, actor=actor, summary=f"cron job {job.name} removed"
        )
        job.delete()


def _checked(name: str, schedule: str, command: str) -> tuple[str, str, str]:
    command = str(command or "").strip()
    if not command:
        raise ValidationError("A cron job needs a command.")
    if len(command) > MAX_COMMAND or "\x00" in command:
        raise ValidationError(f"The command is longer than {MAX_COMMAND} characters.")
    return cron.check_name(name), cron.check_schedule(schedule), command


def sync_config_jobs(project, plan: Plan) -> None:
    """Make the project's deployer.toml jobs those of the live plan (its [cron] wins over a
    dashboard job of the same name); dashboard jobs are left alone. A pull request's preview
    gets none: scheduled work (mail, billing, clean-ups) is production's."""
    if project.parent_id:
        return
    names = set()
    for job in plan.cron:
        names.add(job.name)
        CronJob.objects.update_or_create(
            project=project,
            name=job.name,
            defaults={
                "schedule": job.schedule,
                "command": job.command,
                "source": CronJob.Source.CONFIG,
            },
        )
    CronJob.objects.filter(project=project, source=CronJob.Source.CONFIG).exclude(
        name__in=names
    ).delete()


# Running ----------------------------------------------------------------------------------------


def tick(now: datetime | None = None) -> list[int]:
    """Send a run for every enabled job due this minute whose project is live; returns their ids.

    Runs whose worker was lost (unfinished past the time limit) are marked lost first, so
    their job runs again.
    """
    minute = (now or timezone.now()).replace(second=0, microsecond=0)
    mark_lost_runs(minute)
    live_projects = Deployment.objects.filter(state=Deployment.State.LIVE).values("project_id")
    due = [
        job.pk
        for job in CronJob.objects.filter(
            enabled=True,
            project__in=live_projects,
            project__deleting_at__isnull=True,
            project__parent__isnull=True,  # previews run no scheduled jobs
        )
        if cron.is_due(job.schedule, minute)
    ]
    for job_id in due:
        task("processes.tasks.run_cron_job").delay(job_id, minute.isoformat())
    return due


def mark_lost_runs(now: datetime) -> int:
    cutoff = now - timedelta(seconds=settings.DEPLOYER_CRON_TIMEOUT + LOST_SLACK)
    return CronRun.objects.filter(state=CronRun.State.RUNNING, started_at__lt=cutoff).update(
        state=CronRun.State.LOST,
        finished_at=now,
        output="The worker running this job was lost before it finished.",
    )


# Beyond the time limit, before an unfinished run counts as lost (its task may wait in the queue).
LOST_SLACK = 300


def run_job(job_id: int, scheduled_for: datetime | None = None) -> CronRun | None:
    """Run the job now in a one-off container from the live build's image, with the project's
    environment and the app's fence, and record the run. None when it did not run: the
    project has no live build, the job is running already (a job never overlaps itself), or
    this minute's run exists."""
    job = CronJob.objects.select_related("project").filter(pk=job_id).first()
    if job is None:
        return None
    project = job.project
    live = (
        Deployment.objects.filter(project=project, state=Deployment.State.LIVE)
        .select_related("build")
        .first()
    )
    if live is None:
        return None
    build = live.build
    try:
        with transaction.atomic():
            cron_run = CronRun.objects.create(job=job, build=build, scheduled_for=scheduled_for)
    except IntegrityError:
        return None
    redact = Redactor(project_services.secret_values(project))
    plan = Plan.from_dict(build.plan or {})
    state, exit_code, output = CronRun.State.FAILED, None, ""
    try:
        with docker_seam.client() as client:
            fence = runner.app_fence(build, plan, client, logger.info)
            ended = engine.run_one_off(
                client,
                build.image_id or build.image_tag,
                job.command,
                environment=addon_services.app_environment(project, plan),
                labels={**runner.labels_for(build, "cron"), docker_seam.LABEL_PROCESS: job.name},
                fence=fence,
                timeout=settings.DEPLOYER_CRON_TIMEOUT,
                max_chars=settings.DEPLOYER_CRON_OUTPUT_MAX_CHARS,
            )
        exit_code = ended.exit_code
        output = "\n".join(redact.lines(clean(line) for line in ended.output.split("\n")))
        if ended.truncated:
            output += (
                f"\n[deployer: output cut at {settings.DEPLOYER_CRON_OUTPUT_MAX_CHARS} characters]"
            )
        if ended.timed_out:
            state = CronRun.State.TIMED_OUT
            output += f"\n[deployer: stopped after {settings.DEPLOYER_CRON_TIMEOUT:.0f} s]"
        elif exit_code == 0:
            state = CronRun.State.SUCCEEDED
    except (StageError, docker_seam.DockerUnavailable) as exc:
        output = redact(str(exc))
    finally:
        CronRun.objects.filter(pk=cron_run.pk).update(
            state=state, exit_code=exit_code, output=output, finished_at=timezone.now()
        )
    return CronRun.objects.filter(pk=cron_run.pk).first()  # None: deleted with its project
