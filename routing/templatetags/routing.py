"""Tags that put the routing panels into other apps' pages without their views passing context."""

from __future__ import annotations

from django import template

from routing import services
from routing.views import panel_context

register = template.Library()


@register.inclusion_tag("routing/_project_domains.html", takes_context=True)
def domains_panel(context, project) -> dict:
    """`{% domains_panel project %}`: the app's addresses and the custom-domain form."""
    return {**panel_context(project), "request": context.get("request")}


@register.inclusion_tag("routing/_app_links.html")
def app_links(project, live=True) -> dict:
    """`{% app_links project live %}`: the app's routed addresses, as links when `live` is truthy."""
    return {"addresses": services.addresses(project, routed_only=True), "live": bool(live)}
