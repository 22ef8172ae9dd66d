"""The project's processes section: the process types beside the web, the cron jobs and
their last runs; deployers add, pause, run and remove jobs."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from deployer.celery import task
from processes import cron_jobs, services
from processes.models import CronRun
from projects import permissions, sections

RUNS_SHOWN = 5


@login_required
@require_GET
def page(request: HttpRequest, slug: str) -> HttpResponse:
    project = permissions.project_for(request.user, slug)
    jobs = [
        {"job": job, "runs": list(job.runs.all()[:RUNS_SHOWN])} for job in project.cron_jobs.all()
    ]
    context = {
        "project": project,
        "processes": services.current(project),
        "jobs": jobs,
        "form": request.session.pop("cron_form", {}),
        "may": permissions.allowed(request.user, project),
        "running": CronRun.State.RUNNING,
        **sections.frame(request, project, "processes"),
    }
    return render(request, "processes/page.html", context)


def _back(project) -> HttpResponse:
    return redirect(reverse("processes:page", args=[project.slug]))


@login_required
@require_POST
def cron_create(request: HttpRequest, slug: str) -> HttpResponse:
    project = permissions.project_for(request.user, slug, "cron")
    fields = {key: request.POST.get(key, "") for key in ("name", "schedule", "command")}
    try:
        job = cron_jobs.create_job(project, **fields, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        request.session["cron_form"] = fields  # what was typed is not lost
    else:
        messages.success(request, f"The cron job {job.name} runs at {job.schedule} (UTC).")
    return _back(project)


@login_required
@require_POST
def cron_enabled(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    project = permissions.project_for(request.user, slug, "cron")
    job = get_object_or_404(project.cron_jobs, pk=pk)
    enabled = request.POST.get("enabled") == "on"
    cron_jobs.set_enabled(job, enabled, actor=request.user)
    messages.success(request, f"The cron job {job.name} is {'on' if enabled else 'paused'}.")
    return _back(project)


@login_required
@require_POST
def cron_run_now(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    project = permissions.project_for(request.user, slug, "cron")
    job = get_object_or_404(project.cron_jobs, pk=pk)
    transaction.on_commit(lambda: task("processes.tasks.run_cron_job").delay(job.pk, None))
    messages.success(request, f"The cron job {job.name} runs now (unless it is running already).")
    return _back(project)


@login_required
@require_POST
def cron_remove(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    project = permissions.project_for(request.user, slug, "cron")
    job = get_object_or_404(project.cron_jobs, pk=pk)
    cron_jobs.delete_job(job, actor=request.user)
    messages.success(request, f"The cron job {job.name} was removed.")
    return _back(project)
