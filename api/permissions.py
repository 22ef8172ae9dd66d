"""What a token may do: its scope, its project restriction and its user's rights.

A token does at most what its scope allows, and never more than its user's role in the
project allows (projects/permissions.py, the same table the pages use).
"""

from __future__ import annotations

from django.http import Http404

from api import ratelimit, tokens
from api.errors import ApiError
from api.models import ApiToken
from projects import permissions
from projects import services as project_services
from projects.models import Project

Scope = ApiToken.Scope
# The least role a scope's requests need in the project (the pages' actions): reading is a
# viewer's, deploying a deployer's, changing settings and variables a deployer's too; what only
# the owner may do is asked again by require_manager.
SCOPE_ACTION = {Scope.READ: "view", Scope.DEPLOY: "deploy", Scope.ADMIN: "env.write"}
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def token_of(request) -> ApiToken:
    return request.auth


def actor(request) -> str:
    """The audit log's words for who acted: the token and its user."""
    return token_of(request).label


def require_scope(request, scope: str) -> ApiToken:
    """The token if its scope covers `scope`, counting writes against its rate limit."""
    token = token_of(request)
    if not tokens.allows(token, scope):
        raise ApiError(
            403,
            "insufficient_scope",
            f"This token has the {token.scope} scope; this needs {scope}.",
        )
    if request.method in WRITE_METHODS:
        ratelimit.check_write(token)
    return token


def visible_projects(request):
    token = token_of(request)
    projects = Project.objects.visible_to(token.user)
    if token.project_id is not None:
        projects = projects.filter(pk=token.project_id)
    return projects


def get_project(request, slug: str, scope: str = Scope.READ) -> Project:
    """The project if the token's user may see it and the token may reach it; 404 otherwise."""
    token = require_scope(request, scope)
    try:
        project = project_services.get_project_for_user(token.user, slug)
    except Http404:
        raise ApiError(
            404, "project_not_found", f"There is no project {slug!r} you can see."
        ) from None
    if token.project_id is not None and token.project_id != project.pk:
        raise ApiError(
            403, "project_not_allowed", f"This token is restricted to another project than {slug}."
        )
    action = SCOPE_ACTION[scope]
    if not permissions.can(token.user, project, action):
        role = permissions.role_of(token.user, project)
        raise ApiError(
            403, "role_too_low", f"A {role} of {slug} may not do this ({action}) in the project."
        )
    return project


def require_manager(request, project: Project, what: str) -> None:
    """Owner-only actions (members, credentials, deletion, add-ons), as in the dashboard."""
    if not permissions.can(token_of(request).user, project, "members"):
        raise ApiError(403, "owner_only", f"Only the project's owner can {what}.")


def require_manager_for_settings(request, project: Project, names) -> None:
    touched = sorted(Project.OWNER_FIELDS.intersection(names))
    if touched:
        require_manager(request, project, f"change {', '.join(touched)}")


def may_reveal(request, project: Project) -> bool:
    """Who may read a stored value: as on the Environment page, whoever may edit variables."""
    token = token_of(request)
    return tokens.allows(token, Scope.ADMIN) and permissions.can(token.user, project, "env.reveal")
