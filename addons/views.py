"""The project's add-ons section: what runs beside the app, what it gives, and (owners) add or remove."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from addons import services, tasks
from addons.models import AddOn
from projects import permissions, sections

logger = logging.getLogger(__name__)
BACKUPS_SHOWN = 10


@login_required
@require_GET
def addon_list(request: HttpRequest, slug: str) -> HttpResponse:
    project = permissions.project_for(request.user, slug)
    addons = [
        {
            "addon": addon,
            "names": services.variable_names(addon),
            "backups": list(addon.backups.all()[:BACKUPS_SHOWN]),
        }
        for addon in project.addons.all()
    ]
    present = {row["addon"].kind for row in addons}
    context = {
        "project": project,
        "addons": addons,
        "kinds": [(value, label) for value, label in AddOn.Kind.choices if value not in present],
        "may": permissions.allowed(request.user, project),
        **sections.frame(request, project, "addons"),
    }
    return render(request, "addons/list.html", context)


@login_required
@require_POST
def addon_create(request: HttpRequest, slug: str) -> HttpResponse:
    project = permissions.project_for(request.user, slug, "addons")
    try:
        addon = services.create_addon(project, request.POST.get("kind", ""), actor=request.user)
    except services.AddOnError as exc:
        messages.error(request, str(exc))
    else:
        transaction.on_commit(lambda: tasks.provision_addon.delay(addon.pk))
        logger.info("%s added a %s add-on to %s", request.user, addon.kind, project.slug)
        messages.success(
            request, f"{addon} is being created; the next deploy gives the app its variables."
        )
    return redirect(reverse("addons:list", args=[project.slug]))


@login_required
@require_POST
def addon_remove(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    project = permissions.project_for(request.user, slug, "addons")
    addon = get_object_or_404(project.addons, pk=pk)
    keep_data = request.POST.get("keep_data") == "on"
    if request.POST.get("confirm") != addon.kind:
        messages.error(request, f"To remove {addon}, type {addon.kind} in the confirmation box.")
        return redirect(reverse("addons:list", args=[project.slug]))
    who = request.user.get_username()
    transaction.on_commit(lambda: tasks.remove_addon.delay(addon.pk, keep_data, who))
    logger.info("%s removed the %s add-on of %s", request.user, addon.kind, project.slug)
    messages.success(
        request, f"{addon} is being removed{' (its data is kept)' if keep_data else ''}."
    )
    return redirect(reverse("addons:list", args=[project.slug]))


@login_required
@require_POST
def addon_backup(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """A backup now (taken and verified by the worker)."""
    project = permissions.project_for(request.user, slug, "addons")
    addon = get_object_or_404(project.addons, pk=pk)
    who = request.user.get_username()
    transaction.on_commit(lambda: tasks.back_up_addon.delay(addon.pk, who))
    messages.success(request, f"A backup of {addon} is being taken; it shows here once verified.")
    return redirect(reverse("addons:list", args=[project.slug]))


@login_required
@require_POST
def addon_schedule(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Change an add-on's backup schedule and retention."""
    project = permissions.project_for(request.user, slug, "addons")
    addon = get_object_or_404(project.addons, pk=pk)
    try:
        services.set_backup_schedule(
            addon,
            every_hours=request.POST.get("backup_every_hours", ""),
            keep=request.POST.get("keep_backups", ""),
            actor=request.user,
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, f"Backups of {addon} saved.")
    return redirect(reverse("addons:list", args=[project.slug]))


@login_required
@require_POST
def addon_variable(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Give the add-on's URL under another name (DATABASE_URL, REDIS_URL by default)."""
    project = permissions.project_for(request.user, slug, "addons")
    addon = get_object_or_404(project.addons, pk=pk)
    try:
        services.set_variable(addon, request.POST.get("variable", ""), actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, f"{addon} gives its URL as {addon.url_variable} from the next deploy on."
        )
    return redirect(reverse("addons:list", args=[project.slug]))
