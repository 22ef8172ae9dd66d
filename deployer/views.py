"""The platform's own health endpoint."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from deployer import checks


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database, the broker and the Docker engine all answer; 503 naming the failing part."""
    results = checks.run_all()
    failing = [name for name, result in results.items() if not result["ok"]]
    body = {"status": "ok" if not failing else "failing", "failing": failing, "checks": results}
    return JsonResponse(body, status=503 if failing else 200)
