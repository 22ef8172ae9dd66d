"""Celery tasks: thin interfaces that load records and call the runner and services."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings

from builds import deletion, preview, runner, services
from builds import docker as docker_seam
from builds.models import Build
from builds.stages import claim, heartbeat
from deployer import engine_relay
from deployer.celery import task
from projects.models import Project

logger = logging.getLogger(__name__)
# A build waiting for another build of its project asks again this often.
WAIT_FOR_PROJECT_SECONDS = 2
# A deletion the engine could not finish is tried again this often.
DELETE_RETRY_SECONDS = 60


@shared_task(bind=True, max_retries=None, acks_late=True)
def run_build(self, build_id: int) -> str:
    build = Build.objects.select_related("project").filter(pk=build_id).first()
    if build is None or build.state != Build.State.QUEUED:
        return "not queued"
    if not claim(build, worker=self.request.hostname or "worker"):
        services.touch_queued(build_id)  # the message is alive: the sweeper leaves it be
        raise self.retry(countdown=WAIT_FOR_PROJECT_SECONDS)
    with heartbeat(build):
        went_live = runner.execute(build)
    if went_live is not None:
        after_live(build.pk, went_live)
    if build.project.parent_id:  # a pull request's preview: tell the git host how it went
        task("previews.tasks.report_status").delay(build.pk)
    build.refresh_from_db(fields=["state"])
    return build.state


def after_live(build_id: int, went_live: runner.WentLive) -> None:
    """What follows a switch, as tasks of their own: the build's thread never sleeps on them,
    and a failure of one of them is its own, not the build's."""
    retire_previous.apply_async(
        args=[build_id, went_live.retired], countdown=settings.DEPLOYER_ROUTE_DRAIN_SECONDS
    )
    # Settled, the app's memory says what its limit should be (the ship report shows it).
    measure_live_memory.apply_async(
        args=[build_id], countdown=settings.DEPLOYER_MEMORY_SAMPLE_DELAY
    )
    if went_live.keeps_data:
        measure_live_data.delay(build_id)
    # Workers and other process types: the new ones start, then the previous build's stop.
    task("processes.tasks.replace_processes").delay(build_id)


# An engine that cannot be reached now is tried again; past that, reconciling with the engine
# removes what stayed (services.retiring_container_ids says how long it waits).
@shared_task(
    autoretry_for=(docker_seam.DockerUnavailable,),
    retry_kwargs={"max_retries": 5, "countdown": 30},
)
def retire_previous(build_id: int, deployment_ids: list[int]) -> list[str]:
    return services.retire(build_id, deployment_ids)


@shared_task
def measure_live_data(build_id: int) -> int | None:
    return services.measure_live_data(build_id)


@shared_task
def measure_live_memory(build_id: int) -> int | None:
    return services.measure_live_memory(build_id)


@shared_task(bind=True)
def record_worker_heartbeat(self) -> str:
    heartbeat_row = services.record_worker_heartbeat(self.request.hostname or "unknown")
    return heartbeat_row.docker_version


@shared_task
def dispatch_stranded_builds() -> list[int]:
    return services.dispatch_stranded_builds(settings.DEPLOYER_QUEUE_STALE_SECONDS)


@shared_task
def reap_lost_builds() -> int:
    return len(services.reap_lost_builds(settings.DEPLOYER_BUILD_HEARTBEAT_TIMEOUT))


@worker_ready.connect
def _reconcile_at_start(sender=None, **kwargs) -> None:
    reconcile_with_engine.delay()


@worker_ready.connect
def _relay_engine_reads(sender=None, **kwargs) -> None:
    # A web without the engine (DEPLOYER_ENGINE_FROM_WORKER) asks through Redis; with the
    # embedded broker there is no Redis and the web reads the engine itself.
    if settings.REDIS_URL:
        engine_relay.start_thread()


@shared_task
def reconcile_with_engine() -> dict:
    return services.reconcile_with_engine()


@shared_task(bind=True, max_retries=None)
def delete_project(self, project_id: int) -> list[str]:
    """Remove the project's engine resources, routes and rows. While the engine cannot be
    reached the project stays "deleting" and this is tried again every minute."""
    project = Project.objects.filter(pk=project_id, deleting_at__isnull=False).first()
    if project is None:
        return []
    problems = deletion.delete_project(project, keep_row_on_failure=True)
    if problems:
        logger.warning("Deleting %s is not complete: %s", project.slug, " ".join(problems))
        raise self.retry(countdown=DELETE_RETRY_SECONDS)
    if project.parent_id:  # a preview's name is free again: a queued restart may go now
        task("previews.tasks.promote").delay(project.parent_id)
    return problems


# Detection previews ---------------------------------------------------------------------------
@shared_task(
    soft_time_limit=preview.PREVIEW_WAIT_SECONDS + 30,
    time_limit=preview.PREVIEW_WAIT_SECONDS + 60,
)
def preview_detection(preview_id: int) -> str:
    """Clone the branch, detect and store the plan and Dockerfile for the page that asked."""
    return preview.run_preview(preview_id)
