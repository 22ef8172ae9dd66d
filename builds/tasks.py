"""Celery tasks: thin interfaces that load records and call the runner and services."""

from __future__ import annotations

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings

from builds import runner, services
from builds.models import Build
from builds.stages import claim, heartbeat

# A build waiting for another build of its project asks again this often.
WAIT_FOR_PROJECT_SECONDS = 2


@shared_task(bind=True, max_retries=None, acks_late=True)
def run_build(self, build_id: int) -> str:
    build = Build.objects.select_related("project").filter(pk=build_id).first()
    if build is None or build.state != Build.State.QUEUED:
        return "not queued"
    if not claim(build, worker=self.request.hostname or "worker"):
        services.touch_queued(build_id)  # the message is alive: the sweeper leaves it be
        raise self.retry(countdown=WAIT_FOR_PROJECT_SECONDS)
    with heartbeat(build):
        runner.execute(build)
    build.refresh_from_db(fields=["state"])
    if build.state == Build.State.LIVE:
        # Settled, the app's memory says what its limit should be (the ship report shows it).
        measure_live_memory.apply_async(
            args=[build.pk], countdown=settings.DEPLOYER_MEMORY_SAMPLE_DELAY
        )
    return build.state


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


@shared_task
def reconcile_with_engine() -> dict:
    return services.reconcile_with_engine()


# Detection previews ---------------------------------------------------------------------------
# Imported here, not at the top, so this block stays one appended piece of the file.
from builds import preview  # noqa: E402


@shared_task(
    soft_time_limit=preview.PREVIEW_WAIT_SECONDS + 30,
    time_limit=preview.PREVIEW_WAIT_SECONDS + 60,
)
def preview_detection(preview_id: int) -> str:
    """Clone the branch, detect and store the plan and Dockerfile for the page that asked."""
    return preview.run_preview(preview_id)
