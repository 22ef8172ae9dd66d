"""Celery tasks of processes and cron: thin, they call processes.services and cron_jobs."""

from __future__ import annotations

from datetime import datetime

from celery import shared_task
from django.conf import settings

from builds import docker as docker_seam
from processes import cron_jobs, services


# Sent by builds.tasks.after_live once a build's web is live.
@shared_task(
    autoretry_for=(docker_seam.DockerUnavailable,),
    retry_kwargs={"max_retries": 5, "countdown": 30},
)
def replace_processes(build_id: int) -> list[str]:
    return services.replace_processes(build_id)


@shared_task
def observe_processes() -> int:
    return services.observe_processes()


@shared_task
def run_due_cron_jobs() -> list[int]:
    return cron_jobs.tick()


# The engine stops the run at DEPLOYER_CRON_TIMEOUT; Celery's limits only catch a stuck engine.
@shared_task(
    soft_time_limit=settings.DEPLOYER_CRON_TIMEOUT + 60,
    time_limit=settings.DEPLOYER_CRON_TIMEOUT + 120,
)
def run_cron_job(job_id: int, scheduled_for: str | None = None) -> str:
    run = cron_jobs.run_job(
        job_id, datetime.fromisoformat(scheduled_for) if scheduled_for else None
    )
    return run.state if run else "not run"
