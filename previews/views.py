"""The project's Previews section: every pull request's preview, approve / stop / start, and
(owners) the project's preview settings."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST

from previews import selectors, services
from projects import permissions, sections


@login_required
@require_GET
def preview_list(request: HttpRequest, slug: str) -> HttpResponse:
    project = permissions.project_for(request.user, slug)
    context = {
        "project": project,
        "rows": selectors.rows(project),
        "settings": services.settings_for(project),
        "may": permissions.allowed(request.user, project),
        **sections.frame(request, project, "previews"),
    }
    if request.htmx and request.headers.get("HX-Target") == "preview-list":
        return render(request, "previews/_list.html", context)
    return render(request, "previews/list.html", context)


def _act(request: HttpRequest, slug: str, number: int, action) -> HttpResponse:
    project = permissions.project_for(request.user, slug, "previews.approve")
    preview = get_object_or_404(project.previews, number=number)
    try:
        notice = action(preview)
    except services.PreviewError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, notice)
    return redirect("previews:list", slug=project.slug)


@login_required
@require_POST
def approve(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    return _act(request, slug, number, lambda p: services.approve(p, request.user).reason)


@login_required
@require_POST
def stop(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    def do(preview) -> str:
        services.stop(preview, request.user)
        return f"The preview of PR #{number} is being stopped and removed."

    return _act(request, slug, number, do)


@login_required
@require_POST
def start(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    return _act(request, slug, number, lambda p: services.start(p, request.user).reason)


@login_required
@require_POST
@sensitive_post_parameters("status_token")
def save_settings(request: HttpRequest, slug: str) -> HttpResponse:
    project = permissions.project_for(request.user, slug, "previews.settings")
    try:
        services.save_settings(
            project,
            enabled=request.POST.get("enabled") == "on",
            max_running=int(request.POST.get("max_running", "")),
            idle_hours=int(request.POST.get("idle_hours", "")),
            status_api_url=request.POST.get("status_api_url", ""),
            # An empty box keeps the token; "remove" forgets it.
            status_token=""
            if request.POST.get("forget_status_token") == "on"
            else request.POST.get("status_token") or None,
            actor=request.user,
        )
    except (ValueError, ValidationError) as exc:
        detail = "; ".join(exc.messages) if isinstance(exc, ValidationError) else "not a number"
        messages.error(request, f"Preview settings not saved: {detail}.")
    else:
        messages.success(request, "Preview settings saved.")
    return redirect("previews:list", slug=project.slug)
