"""/api/v1/: the REST API, its OpenAPI schema (openapi.json) and browsable docs (docs)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path, re_path
from ninja import NinjaAPI
from ninja.parser import Parser

from api import errors
from api.auth import BearerToken
from api.routes import builds, env, operations, previews, processes, projects


class EmptyBodyParser(Parser):
    """An empty body is an empty object: `curl -X POST .../deploy` needs no `-d '{}'`."""

    def parse_body(self, request):
        return super().parse_body(request) if request.body.strip() else {}


api = NinjaAPI(
    title="Deployer API",
    version="1",
    description=(
        "Everything the dashboard does, for scripts and the `deployer` CLI. Send a personal "
        "token (Account → API tokens, or `manage.py apitoken create`) as "
        '`Authorization: Bearer <token>`. Errors are `{"error": {"code", "message"}}`.'
    ),
    auth=BearerToken(),
    parser=EmptyBodyParser(),
    urls_namespace="api",
    openapi_url="/openapi.json",
    docs_url="/docs",
)
errors.install(api)
for router in (
    projects.router,
    env.router,
    builds.router,
    operations.router,
    processes.router,
    previews.router,
):
    api.add_router("", router)


def unknown_path(request: HttpRequest, rest: str) -> JsonResponse:
    """A JSON 404 for any other address under /api/, never the dashboard's HTML page."""
    body = {"error": {"code": "not_found", "message": f"There is no API endpoint {request.path}."}}
    return JsonResponse(body, status=404)


urlpatterns = [
    path("api/v1/", api.urls),
    re_path(r"^api/(?P<rest>.*)$", unknown_path),
]
