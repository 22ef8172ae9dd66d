"""Celery tasks: thin calls into previews.services."""

from __future__ import annotations

from celery import shared_task

from previews import services, status


@shared_task
def start_with_database(preview_id: int) -> int | None:
    return services.start_with_database(preview_id)


@shared_task
def promote(project_id: int) -> list[int]:
    return services.promote(project_id)


@shared_task
def sweep() -> dict[str, list[int]]:
    """Idle previews stopped, queued ones started (beat, every DEPLOYER_PREVIEW_SWEEP_INTERVAL)."""
    return services.sweep()


@shared_task
def report_status(build_id: int) -> str:
    """The commit status of a preview's build, sent to the git host (previews/status.py)."""
    return status.report(build_id)
