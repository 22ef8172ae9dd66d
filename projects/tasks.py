"""Celery tasks: engine work about projects, done by the worker."""

from __future__ import annotations

import logging

from celery import shared_task

from projects import services
from projects.models import Project

logger = logging.getLogger(__name__)
RETRY_SECONDS = 60


@shared_task(bind=True, max_retries=None)
def delete_project(self, project_id: int) -> list[str]:
    """Remove the project's engine resources, routes and rows. While the engine cannot be
    reached the project stays "deleting" and this is tried again every minute."""
    project = Project.objects.filter(pk=project_id, deleting_at__isnull=False).first()
    if project is None:
        return []
    problems = services.delete_project(project, keep_row_on_failure=True)
    if problems:
        logger.warning("Deleting %s is not complete: %s", project.slug, " ".join(problems))
        raise self.retry(countdown=RETRY_SECONDS)
    return problems
