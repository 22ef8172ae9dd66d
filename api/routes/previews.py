"""Pull-request previews: list them, approve a fork's commit, stop one (as on the Previews page)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from ninja import Router

from api import permissions
from api.errors import ApiError
from api.permissions import Scope
from api.schemas import Accepted, PreviewOut
from previews import selectors, services
from projects import permissions as project_permissions

router = Router(tags=["previews"])


def _out(row: selectors.Row) -> dict:
    preview = row.preview
    return {
        "number": preview.number,
        "title": preview.title,
        "state": preview.state,
        "reason": preview.reason,
        "head_branch": preview.head_branch,
        "head_sha": preview.head_sha,
        "from_fork": preview.from_fork,
        "approved_sha": preview.approved_sha,
        "address": row.url,
        "build_state": row.build.state if row.build else "",
        "created_at": preview.created_at,
    }


@router.get("/projects/{slug}/previews", response=list[PreviewOut], summary="Previews")
def list_previews(request, slug: str):
    project = permissions.get_project(request, slug)
    return [_out(row) for row in selectors.rows(project)]


def _preview(request, slug: str, number: int):
    project = permissions.get_project(request, slug, Scope.DEPLOY)
    if not project_permissions.can(permissions.token_of(request).user, project, "previews.approve"):
        raise ApiError(
            403, "role_too_low", f"Your role in {slug} may not approve or stop previews."
        )
    return get_object_or_404(project.previews, number=number)


@router.post(
    "/projects/{slug}/previews/{number}/approve",
    response=Accepted,
    summary="Approve a preview's head commit",
)
def approve(request, slug: str, number: int):
    """A fork's preview builds its head commit once approved (or waits for a free slot)."""
    preview = _preview(request, slug, number)
    try:
        decision = services.approve(preview, permissions.token_of(request).user)
    except services.PreviewError as exc:
        raise ApiError(409, "preview_not_approvable", str(exc)) from None
    return {"message": decision.reason}


@router.post("/projects/{slug}/previews/{number}/stop", response=Accepted, summary="Stop a preview")
def stop(request, slug: str, number: int):
    preview = _preview(request, slug, number)
    try:
        services.stop(preview, permissions.token_of(request).user)
    except services.PreviewError as exc:
        raise ApiError(409, "preview_not_running", str(exc)) from None
    return {"message": f"The preview of PR #{number} is being stopped and removed."}
