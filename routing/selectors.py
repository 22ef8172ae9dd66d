"""What pages read about a project's addresses: plain reads, no writes, no call to Caddy."""

from __future__ import annotations

from django.conf import settings

from projects.models import Project
from routing import services


def domains_panel(project: Project) -> dict:
    """What the addresses section shows besides its form and notice."""
    return {
        "project": project,
        "addresses": services.addresses(project),
        "live": services.is_live(project),
        "https": settings.DEPLOYER_HTTPS,
        # The HTTP proof is offered only where it can pass (see routing.proof.check_http).
        "http_proof": not settings.DEPLOYER_HTTPS and bool(settings.DEPLOYER_ROUTER_ADDRESSES),
        "router_addresses": ", ".join(settings.DEPLOYER_ROUTER_ADDRESSES),
    }
