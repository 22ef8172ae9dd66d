"""Health and notification pages. Each returns the whole page, or only its fragment for htmx."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from monitoring import alerts, selectors
from monitoring.forms import NotificationSettingsForm
from projects import permissions, sections
from projects.forms import attach_errors


@login_required
@require_GET
def health(request: HttpRequest, slug: str) -> HttpResponse:
    """State, uptime, response-time chart and recent events (a fragment that refreshes itself),
    then the app's metrics over `?range=` (1h, 24h, 7d or 30d; another answers 404)."""
    project = permissions.project_for(request.user, slug)
    range_key = request.GET.get("range", selectors.DEFAULT_METRIC_RANGE)
    if range_key not in selectors.METRIC_RANGES:
        raise Http404(f"Unknown range {range_key!r}: choose 1h, 24h, 7d or 30d.")
    if request.htmx and request.htmx.target == "metrics":
        metrics = selectors.metrics_panel(project, range_key)
        return render(request, "monitoring/_metrics.html", {"metrics": metrics})
    if request.htmx:
        return render(request, "monitoring/_project_health.html", selectors.panel(project))
    context = {
        **selectors.panel(project),
        "metrics": selectors.metrics_panel(project, range_key),
        **sections.frame(request, project, "monitoring"),
    }
    return render(request, "monitoring/health.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def notifications(request: HttpRequest, slug: str) -> HttpResponse:
    project = permissions.project_for(request.user, slug)
    if request.method == "POST":
        permissions.require(request.user, project, "notifications")
    prefs = alerts.saved_notification_settings(project)
    form = NotificationSettingsForm.for_settings(prefs, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            alerts.update_notification_settings(project, **form.service_arguments())
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            if not request.htmx:
                messages.success(request, "Notification settings saved.")
                return redirect("monitoring:notifications", slug=project.slug)
            return _render_notifications(request, project, notice="Saved.")
    return _render_notifications(request, project, form)


@login_required
@require_POST
def regenerate_secret(request: HttpRequest, slug: str) -> HttpResponse:
    project = permissions.project_for(request.user, slug, "notifications")
    alerts.regenerate_signing_secret(project)
    notice = "New signing secret: update it at the receiver."
    if not request.htmx:
        messages.success(request, notice)
        return redirect("monitoring:notifications", slug=project.slug)
    return _render_notifications(request, project, notice=notice)


@login_required
@require_POST
def send_test(request: HttpRequest, slug: str) -> HttpResponse:
    project = permissions.project_for(request.user, slug, "notifications")
    sent = alerts.send_test(project)
    notice = (
        f"Test sent to {len(sent)} channel(s): see the deliveries below."
        if sent
        else "Nothing to send to: add an email address or a webhook first."
    )
    if not request.htmx:
        messages.info(request, notice)
        return redirect("monitoring:notifications", slug=project.slug)
    return _render_notifications(request, project, notice=notice)


def _notifications_context(
    project, may: dict[str, bool], form: NotificationSettingsForm | None = None, *, notice: str = ""
) -> dict:
    """What the notifications fragment shows."""
    context = selectors.notifications(project, with_secret=may["notifications"])
    form = form or NotificationSettingsForm.for_settings(context["prefs"])
    return {**context, "form": form, "notice": notice, "may": may}


def _render_notifications(
    request: HttpRequest, project, form: NotificationSettingsForm | None = None, *, notice: str = ""
) -> HttpResponse:
    template = "monitoring/_notifications.html" if request.htmx else "monitoring/notifications.html"
    may = permissions.allowed(request.user, project)
    context = _notifications_context(project, may, form, notice=notice)
    context.update(sections.frame(request, project, "settings"))
    return render(request, template, context)
