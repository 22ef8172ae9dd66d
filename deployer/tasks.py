"""Platform-wide periodic work that spans the apps."""

from __future__ import annotations

from celery import current_task, shared_task
from celery.signals import worker_ready
from django.conf import settings

from deployer import housekeeping as rounds
from deployer import platform_backup as backups
from deployer import platform_state


@shared_task(name="deployer.tasks.housekeeping")
def housekeeping() -> dict:
    report = rounds.run_with_engine()
    if report is None:
        return {"engine": "unreachable"}
    return {
        "removed_images": len(report.removed_images),
        "removed_containers": len(report.removed_containers),
        "dangling_bytes": report.dangling_bytes,
        "deleted_rows": report.deleted_rows,
        "removed_mirrors": len(report.removed_mirrors),
    }


@shared_task(name="deployer.tasks.platform_backup")
def platform_backup() -> dict:
    """The scheduled platform backup, verified, then the retention applied."""
    backup = backups.take(reason="scheduled")
    removed = backups.prune(settings.DEPLOYER_PLATFORM_BACKUP_KEEP)
    return {"backup": backup.pk, "state": backup.state, "removed": len(removed)}


@shared_task(name="deployer.tasks.record_engine_state")
def record_engine_state() -> str:
    return platform_state.record_engine_state(current_task.request.hostname).version


@worker_ready.connect
def _report_engine_at_start(sender=None, **kwargs) -> None:
    # The staff page and the web's /healthz read this report: a new worker gives one at once.
    record_engine_state.delay()
