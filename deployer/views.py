"""The platform's own health endpoint and its staff page."""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from deployer import checks, clientip, platform_state


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
    if request.user.is_staff:
        body["platform"] = _platform_summary(platform_state.gather())
    return JsonResponse(body, status=503 if failing else 200)


@staff_member_required
@require_GET
@never_cache
def platform(request: HttpRequest) -> HttpResponse:
    """The platform's own state: services, engine disk, workers, queue, last verified backup."""
    return render(request, "platform/page.html", {"state": platform_state.gather()})


def _platform_summary(state: platform_state.PlatformState) -> dict:
    engine, backup = state.engine, state.last_backup
    return {
        "services": {
            s.name: {"ok": s.ok, "version": s.version, "detail": s.detail} for s in state.services
        },
        "engine_disk": {"free": engine.disk_free, "total": engine.disk_total} if engine else None,
        "workers": len(state.workers),
        "queue_length": state.queue_length,
        "last_verified_backup": backup.created_at.isoformat() if backup else None,
    }
