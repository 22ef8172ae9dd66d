"""The platform's own health endpoint."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from deployer import checks, clientip


def may_see_details(request: HttpRequest) -> bool:
    """Staff, or a monitor on this host asking directly (not through Caddy): see deployer/clientip.py."""
    return request.user.is_staff or clientip.is_local(request)


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database, the broker and the Docker engine all answer; 503 otherwise.

    Everyone gets the status code and `{"status": ...}`. Which part failed and why (exception
    text, versions, timings) is shown only to staff and to a direct request from loopback:
    it tells an attacker what runs here and how it breaks.
    """
    results = checks.run_all()
    failing = [name for name, result in results.items() if not result["ok"]]
    body: dict = {"status": "ok" if not failing else "failing"}
    if may_see_details(request):
        body.update(failing=failing, checks=results)
    return JsonResponse(body, status=503 if failing else 200)
