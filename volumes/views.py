"""The project's volumes section: what is kept across deploys, where, how big; (owners) add
or remove one."""

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
from projects import permissions, sections
from volumes import paths, services


@login_required
@require_GET
def volume_list(request: HttpRequest, slug: str) -> HttpResponse:
    project = permissions.project_for(request.user, slug)
    context = {
        "project": project,
        "volumes": list(project.volumes.all()),
        "roots": paths.ROOTS,
        "may": permissions.allowed(request.user, project),
        **sections.frame(request, project, "volumes"),
    }
    return render(request, "volumes/list.html", context)


@login_required
@require_POST
def volume_add(request: HttpRequest, slug: str) -> HttpResponse:
    project = permissions.project_for(request.user, slug, "volumes")
    try:
        added = services.add_volume(
            project, request.POST.get("name", ""), request.POST.get("path", ""), actor=request.user
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except services.VolumeError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, f"The volume {added.name} is mounted at {added.path} from the next deploy on."
        )
    return redirect(reverse("volumes:list", args=[project.slug]))


@login_required
@require_POST
def volume_remove(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    project = permissions.project_for(request.user, slug, "volumes")
    found = get_object_or_404(project.volumes, pk=pk, removing_at__isnull=True)
    try:
        services.request_removal(found, request.POST.get("confirm", ""), actor=request.user)
    except services.VolumeError as exc:
        messages.error(request, str(exc))
    else:
        transaction.on_commit(lambda: task("volumes.tasks.settle_volumes").delay())
        messages.success(
            request,
            f"The volume {found.name} is detached; its data is deleted once no container holds "
            "it (at once, or after the next deploy if the live version mounts it).",
        )
    return redirect(reverse("volumes:list", args=[project.slug]))
