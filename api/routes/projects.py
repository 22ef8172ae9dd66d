"""Projects: list, read, create, change, delete, as on the dashboard."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from ninja import Router, Status
from ninja.pagination import PageNumberPagination, paginate

from api import permissions
from api.errors import ApiError
from api.permissions import Scope
from api.schemas import Accepted, Me, ProjectCreate, ProjectOut, ProjectUpdate
from builds import deletion
from projects import services
from projects.models import Project
from routing import services as routing

router = Router(tags=["projects"])
users = get_user_model().objects.filter(is_active=True)


def project_out(project: Project) -> dict:
    fields = {name: getattr(project, name) for name in Project.EDITABLE_FIELDS}
    return {
        **fields,
        "owner": project.owner.get_username(),
        "members": sorted(user.get_username() for user in project.members.all()),
        "has_repo_credentials": project.has_repo_credentials,
        "url": routing.app_url(project.app_host),
        "deleting": project.deleting_at is not None,
        "created_at": project.created_at,
    }


@router.get("/me", response=Me, summary="Who this token is")
def me(request):
    token = permissions.require_scope(request, Scope.READ)
    return {
        "username": token.user.get_username(),
        "token_name": token.name,
        "scope": token.scope,
        "project": token.project.slug if token.project else None,
        "expires_at": token.expires_at,
    }


@router.get("/projects", response=list[ProjectOut], summary="Projects you can see")
@paginate(PageNumberPagination, page_size=settings.DEPLOYER_API_PAGE_SIZE)
def list_projects(request):
    permissions.require_scope(request, Scope.READ)
    projects = permissions.visible_projects(request).listed().select_related("owner")
    return _Mapped(projects.prefetch_related("members"), project_out)


class _Mapped:
    """A queryset the paginator counts and slices in the database, each item of the page then
    turned into its output: turning every visible project first cost a page of 500 projects
    as much as all of them."""

    def __init__(self, queryset, out):
        self.queryset, self.out = queryset, out

    def all(self) -> _Mapped:  # ninja counts `queryset.all().count()`
        return self

    def count(self) -> int:
        return self.queryset.count()

    def __getitem__(self, window: slice) -> list:
        return [self.out(item) for item in self.queryset[window]]


@router.post("/projects", response={201: ProjectOut}, summary="Create a project")
def create_project(request, payload: ProjectCreate):
    token = permissions.require_scope(request, Scope.ADMIN)
    if token.project_id is not None:
        raise ApiError(403, "project_not_allowed", "This token is restricted to one project.")
    fields = payload.model_dump()
    if fields["memory_limit_mb"] is None:
        del fields["memory_limit_mb"]
    project = services.create_project(token.user, actor=permissions.actor(request), **fields)
    return Status(201, project_out(project))


@router.get("/projects/{slug}", response=ProjectOut, summary="One project")
def get_project(request, slug: str):
    return project_out(permissions.get_project(request, slug))


@router.patch("/projects/{slug}", response=ProjectOut, summary="Change a project's settings")
def update_project(request, slug: str, payload: ProjectUpdate):
    project = permissions.get_project(request, slug, Scope.ADMIN)
    fields = payload.model_dump(exclude_unset=True)
    if any(value is None for value in fields.values()):
        raise ApiError(400, "invalid_input", "A setting cannot be null; leave it out instead.")
    permissions.require_manager_for_settings(request, project, fields)
    if "members" in fields:
        fields["members"] = _users_named(fields["members"])
    services.update_project(project, actor=permissions.actor(request), **fields)
    return project_out(project)


def _users_named(names: list[str]) -> list:
    found = {user.get_username(): user for user in users.filter(username__in=names)}
    unknown = sorted(set(names) - set(found))
    if unknown:
        raise ApiError(400, "invalid_input", f"No user named {', '.join(unknown)}.")
    return list(found.values())


@router.delete("/projects/{slug}", response={202: Accepted}, summary="Delete a project")
def delete_project(request, slug: str):
    project = permissions.get_project(request, slug, Scope.ADMIN)
    permissions.require_manager(request, project, "delete it")
    if project.deleting_at is None:
        deletion.request_deletion(project, actor=permissions.actor(request))
    return Status(
        202, {"message": f"{slug} is being deleted with its containers, images and data."}
    )
