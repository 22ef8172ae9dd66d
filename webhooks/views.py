from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from projects import permissions, sections
from webhooks import selectors, services


@csrf_exempt
@require_POST
def receive(request: HttpRequest, slug: str) -> JsonResponse:
    """The one endpoint every git host posts to; it answers JSON and never needs a login."""
    limit = settings.DEPLOYER_WEBHOOK_MAX_BODY_BYTES
    # request.read(), not request.body: the body is bounded here, by our own setting.
    if _declared_length(request) > limit:
        return _too_large(limit)
    body = request.read(limit + 1)
    if len(body) > limit:
        return _too_large(limit)
    outcome = services.receive(slug, body, request.headers)
    answer = {"result": outcome.result, "reason": outcome.reason}
    if outcome.build:
        answer["build"] = outcome.build.pk
        answer["build_url"] = _build_url(request, outcome.build)
    return JsonResponse(answer, status=outcome.status)


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0  # the bounded read below still applies


def _too_large(limit: int) -> JsonResponse:
    return JsonResponse(
        {"result": "too_large", "reason": f"The body is larger than {limit} bytes."}, status=413
    )


def _build_url(request: HttpRequest, build) -> str:
    return request.build_absolute_uri(reverse("builds:detail", args=[build.pk]))


@login_required
@require_GET
def project_webhooks(request: HttpRequest, slug: str) -> HttpResponse:
    """The project's payload URL, secret, setup instructions and last deliveries.

    Reading creates nothing: until the secret is made (a POST), the page offers to make it.
    """
    project = permissions.project_for(request.user, slug)
    return _render_panel(request, project)


@login_required
@require_POST
def regenerate_secret(request: HttpRequest, slug: str) -> HttpResponse:
    """Make the project's first webhook secret, or replace the current one."""
    project = permissions.project_for(request.user, slug, "webhooks.secret")
    if services.saved_endpoint(project) is None:
        services.endpoint_for(project)
        notice = "Webhook secret created: add it at your git host."
    else:
        services.regenerate_secret(project)
        notice = "New secret generated: the old one no longer works. Update it at your git host."
    if request.htmx:
        return _render_panel(request, project, notice=notice)
    messages.success(request, notice)
    return redirect("webhooks:project", slug=project.slug)


def _render_panel(request: HttpRequest, project, *, notice: str = "") -> HttpResponse:
    may_see = permissions.can(request.user, project, "webhooks.secret")
    context = {**selectors.setup(request, project, with_secret=may_see), "notice": notice}
    context["may"] = permissions.allowed(request.user, project)
    if request.htmx:
        return render(request, "webhooks/_project_webhooks.html", context)
    context.update(sections.frame(request, project, "settings"))
    return render(request, "webhooks/project_webhooks.html", context)
