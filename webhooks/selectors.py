"""What the push-webhook setup shows: the payload URL, the secret, how to add it at each git
host, and the last deliveries. Reading creates nothing."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from webhooks import instructions, services

RECENT_DELIVERIES = 20


def payload_url(request: HttpRequest, project) -> str:
    """The address git hosts post to, as this request reached Deployer."""
    return request.build_absolute_uri(reverse("webhooks:receive", args=[project.slug]))


def setup(request: HttpRequest, project, *, with_secret: bool = True) -> dict:
    """What the section shows; without `with_secret` (a role that may not see it) no secret."""
    endpoint = services.saved_endpoint(project)
    secret = endpoint.decrypted_secret() if endpoint and with_secret else ""
    url = payload_url(request, project)
    return {
        "project": project,
        "payload_url": url,
        "secret": secret,
        "endpoint": endpoint,
        "secret_hidden": endpoint is not None and not with_secret,
        "post_receive": instructions.post_receive_script(url, secret) if secret else "",
        "deliveries": project.webhook_deliveries.select_related("build")[:RECENT_DELIVERIES],
    }
