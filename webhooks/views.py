from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from projects.services import get_project_for_user
from webhooks import instructions, services

RECENT_DELIVERIES = 20


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
def project_webhooks(request: HttpRequest, slug: str) -> HttpResponse:
    """The project's payload URL, secret, setup instructions and last deliveries."""
    project = get_project_for_user(request.user, slug)
    return _render_panel(request, project)


@login_required
@require_POST
def regenerate_secret(request: HttpRequest, slug: str) -> HttpResponse:
    project = get_project_for_user(request.user, slug)
    services.regenerate_secret(project)
    if request.htmx:
        return _render_panel(request, project, regenerated=True)
    messages.success(request, "New webhook secret generated: update it at your git host.")
    return redirect("webhooks:project", slug=project.slug)


def _render_panel(request: HttpRequest, project, *, regenerated: bool = False) -> HttpResponse:
    endpoint = services.endpoint_for(project)
    secret = endpoint.decrypted_secret()
    payload_url = request.build_absolute_uri(reverse("webhooks:receive", args=[project.slug]))
    context = {
        "project": project,
        "payload_url": payload_url,
        "secret": secret,
        "endpoint": endpoint,
        "post_receive": instructions.post_receive_script(payload_url, secret),
        "deliveries": project.webhook_deliveries.select_related("build")[:RECENT_DELIVERIES],
        "regenerated": regenerated,
    }
    template = (
        "webhooks/_project_webhooks.html" if request.htmx else "webhooks/project_webhooks.html"
    )
    return render(request, template, context)
