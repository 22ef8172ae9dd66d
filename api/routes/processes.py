"""Processes and cron jobs (the Processes section): read them, add and remove cron jobs."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from ninja import Router, Status

from api import permissions
from api.errors import ApiError
from api.permissions import Scope
from api.schemas import CronJobIn, CronJobOut, CronRunOut, ProcessOut
from processes import cron_jobs
from processes import services as process_services

router = Router(tags=["processes and cron"])
RUNS_LISTED = 50


@router.get("/projects/{slug}/processes", response=list[ProcessOut], summary="Processes")
def list_processes(request, slug: str):
    """The process types beside the web, as the engine last reported them."""
    return process_services.current(permissions.get_project(request, slug))


@router.get("/projects/{slug}/cron", response=list[CronJobOut], summary="Cron jobs")
def list_cron_jobs(request, slug: str):
    return permissions.get_project(request, slug).cron_jobs.all()


@router.post("/projects/{slug}/cron", response={201: CronJobOut}, summary="Add a cron job")
def add_cron_job(request, slug: str, payload: CronJobIn):
    """A wrong schedule is a 400 that names the field and why."""
    project = permissions.get_project(request, slug, Scope.ADMIN)
    try:
        job = cron_jobs.create_job(project, **payload.dict(), actor=permissions.actor(request))
    except ValidationError as exc:
        raise ApiError(400, "invalid_input", " ".join(exc.messages)) from None
    return Status(201, job)


@router.delete("/projects/{slug}/cron/{name}", response={204: None}, summary="Remove a cron job")
def remove_cron_job(request, slug: str, name: str):
    project = permissions.get_project(request, slug, Scope.ADMIN)
    cron_jobs.delete_job(
        get_object_or_404(project.cron_jobs, name=name), actor=permissions.actor(request)
    )
    return Status(204, None)


@router.get(
    "/projects/{slug}/cron/{name}/runs", response=list[CronRunOut], summary="A cron job's runs"
)
def list_cron_runs(request, slug: str, name: str):
    """The newest runs first, with their output (capped, secrets redacted)."""
    project = permissions.get_project(request, slug)
    return get_object_or_404(project.cron_jobs, name=name).runs.all()[:RUNS_LISTED]
