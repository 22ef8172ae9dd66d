"""Deploy, roll back, cancel; builds and their logs (a cursor the CLI follows)."""

from __future__ import annotations

import time

from django.conf import settings
from django.http import Http404
from ninja import Query, Router, Schema, Status
from ninja.pagination import PageNumberPagination, paginate
from pydantic import Field

from api import permissions
from api.errors import ApiError
from api.permissions import Scope
from api.schemas import BuildOut, CancelOut, DeployIn, LogPage, RollbackIn
from builds import selectors, services
from builds.models import Build
from builds.pipeline.sha import is_sha

router = Router(tags=["builds"])
LOG_BATCH = 500
LOG_POLL_SECONDS = 0.5


def get_build(request, pk: int, scope: str = Scope.READ) -> Build:
    """The build if its project is one the token may reach; 404 otherwise."""
    build = Build.objects.select_related("project").filter(pk=pk).first()
    if build is None:
        raise ApiError(404, "build_not_found", f"There is no build #{pk} you can see.")
    try:
        permissions.get_project(request, build.project.slug, scope)
    except ApiError as exc:
        if exc.code == "project_not_found":
            raise ApiError(
                404, "build_not_found", f"There is no build #{pk} you can see."
            ) from None
        raise
    return build


def _refused(exc: services.BuildRequestError) -> ApiError:
    return ApiError(409, "build_refused", str(exc))


@router.post("/projects/{slug}/deploy", response={202: BuildOut}, summary="Deploy")
def deploy(request, slug: str, payload: DeployIn | None = None):
    """Queue a build of `ref` (a branch, tag or full commit id; default the project's branch)."""
    project = permissions.get_project(request, slug, Scope.DEPLOY)
    ref = (payload.ref if payload else "").strip()
    try:
        build = services.request_build(
            project,
            ref="" if is_sha(ref) else ref,
            commit_sha=ref if is_sha(ref) else "",
            triggered_by=request.auth.user,
            detail="via the API",
            actor=permissions.actor(request),
        )
    except services.BuildRequestError as exc:
        raise _refused(exc) from None
    return Status(202, build)


@router.post("/projects/{slug}/rollback", response={202: BuildOut}, summary="Roll back")
def rollback(request, slug: str, payload: RollbackIn | None = None):
    """Redeploy an earlier build's image (default: the newest one that is not live now)."""
    project = permissions.get_project(request, slug, Scope.DEPLOY)
    target_id = payload.build if payload else None
    if target_id is None:
        targets = selectors.rollback_targets(project, services.live_deployment(project))
        if not targets:
            raise ApiError(409, "build_refused", "There is no earlier live build to roll back to.")
        target_id = max(targets)
    target = project.builds.filter(pk=target_id).first()
    if target is None:
        raise ApiError(404, "build_not_found", f"{slug} has no build #{target_id}.")
    try:
        build = services.request_rollback(
            project, target, triggered_by=request.auth.user, actor=permissions.actor(request)
        )
    except services.BuildRequestError as exc:
        raise _refused(exc) from None
    return Status(202, build)


@router.get("/projects/{slug}/builds", response=list[BuildOut], summary="A project's builds")
@paginate(PageNumberPagination, page_size=settings.DEPLOYER_API_PAGE_SIZE)
def list_builds(request, slug: str):
    return permissions.get_project(request, slug).builds.select_related("project")


@router.get("/builds/{pk}", response=BuildOut, summary="One build")
def get_one(request, pk: int):
    return get_build(request, pk)


@router.post("/builds/{pk}/cancel", response=CancelOut, summary="Cancel a build")
def cancel(request, pk: int):
    build = get_build(request, pk, Scope.DEPLOY)
    cancelled = services.cancel_build(
        build,
        reason=f"Cancelled by {permissions.actor(request)}.",
        actor=permissions.actor(request),
    )
    build.refresh_from_db()
    message = f"Build #{pk} is being cancelled." if cancelled else f"Build #{pk} had already ended."
    return {"build": build, "cancelled": cancelled, "message": message}


class LogQuery(Schema):
    after: int = Field(0, ge=0, description="The last `seq` you have; 0 for the start.")
    wait: float = Field(0, ge=0, le=5, description="Seconds to wait for new lines (long poll).")


@router.get("/builds/{pk}/log", response=LogPage, summary="Log lines after a cursor")
def log(request, pk: int, query: Query[LogQuery]):
    """The lines after `?after=<seq>` (up to 500) and whether more can come.

    Follow a build by asking again with `after=next_after` until `finished` is true. With
    `wait`, the answer waits up to that many seconds for a new line.
    """
    build = get_build(request, pk)
    deadline = time.monotonic() + query.wait
    while True:
        settled = selectors.log_settled(build)  # read before the lines: none is lost
        lines = []
        if build.log_line_count > query.after or settled:
            new = build.log_lines.filter(seq__gt=query.after).order_by("seq")
            lines = list(new.values("seq", "stage", "text")[:LOG_BATCH])
        if lines or settled or time.monotonic() >= deadline:
            break
        time.sleep(LOG_POLL_SECONDS)
        try:
            build.refresh_from_db(fields=["state", "finished_at", "log_line_count", "log_complete"])
        except Build.DoesNotExist:
            raise Http404 from None
    return {
        "build": build.pk,
        "state": build.state,
        "lines": lines,
        "next_after": lines[-1]["seq"] if lines else query.after,
        "finished": settled and len(lines) < LOG_BATCH,
    }
