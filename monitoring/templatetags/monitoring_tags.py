"""Template tags for pages of other apps: `{% load monitoring_tags %}`."""

from __future__ import annotations

from django import template

from monitoring import selectors, views

register = template.Library()


@register.inclusion_tag("monitoring/_project_health.html")
def project_health(project) -> dict:
    """The self-refreshing health panel: `{% project_health project %}`."""
    return selectors.panel(project)


@register.inclusion_tag("monitoring/_notifications.html", takes_context=True)
def notifications_panel(context, project) -> dict:
    """The notification settings form: `{% notifications_panel project %}`."""
    return {"csrf_token": context.get("csrf_token"), **views.notifications_context(project)}


@register.simple_tag
def current_health(project) -> selectors.Health:
    """`{% current_health project as health %}` then health.label, health.tone, health.reason."""
    return selectors.current_health(project)
