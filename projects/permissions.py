"""Who may do what to a project: the one table every interface asks (pages, the admin, the API).

A project's people have one role each: its owner (Project.owner), or a member with the role
of their Membership, deployer or viewer. Staff are the operators: they may do everything.
Someone with no role does not see the project at all (404, so no name leaks); someone whose
role is too low gets 403.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from projects import services
from projects.models import Membership, Project

OWNER = "owner"
DEPLOYER = Membership.Role.DEPLOYER.value
VIEWER = Membership.Role.VIEWER.value
STAFF = "staff"
RANK = {VIEWER: 1, DEPLOYER: 2, OWNER: 3, STAFF: 4}

# action -> the lowest role that may do it. A viewer reads pages and never a secret value.
ACTIONS = {
    "view": VIEWER,  # every page: overview, deployments, logs, domains, activity, settings
    "env.read_keys": VIEWER,  # variables' names, never their values
    "deploy": DEPLOYER,  # deploy and redeploy a commit
    "rollback": DEPLOYER,
    "cancel": DEPLOYER,
    "env.reveal": DEPLOYER,
    "env.write": DEPLOYER,  # add, change, delete, import
    "settings.build": DEPLOYER,  # branch, framework, start command, … (not the repository)
    "detection.preview": DEPLOYER,
    "notifications": DEPLOYER,  # change them, send a test, see and replace the signing secret
    "members": OWNER,
    "credentials": OWNER,  # the repository URL, its credentials, run as root
    "deploy_key": OWNER,
    "webhooks.secret": OWNER,  # see, create and replace the push webhook's secret
    "domains": OWNER,  # add, prove and remove
    "addons": OWNER,  # add, remove, back up, backup schedule
    "volumes": OWNER,  # add and remove (with its data)
    "cron": DEPLOYER,  # add, pause, remove and run cron jobs (commands in the app's image)
    "previews.approve": DEPLOYER,  # approve a fork's preview, stop or restart one
    "previews.settings": OWNER,  # on/off, limits, the git host's status token
    "delete": OWNER,
}


# role_of's `member_role` when the caller has not read the membership: it is read here.
UNREAD = object()


def role_of(user, project: Project, member_role: str | object | None = UNREAD) -> str | None:
    """ "staff", "owner", "deployer", "viewer", or None for someone who may not see it.

    `member_role`: the role of the user's Membership of the project (of its parent, for a
    preview), None for no membership, when the caller read it already (builds/logaccess.py
    reads it in the same query as the build)."""
    if not user.is_authenticated:
        return None
    if user.is_staff:
        return STAFF
    if user.pk == project.owner_id:
        return OWNER
    if member_role is not UNREAD:
        return member_role if member_role in (DEPLOYER, VIEWER) else None
    # A pull request's preview has no people of its own: they are its parent's.
    target = project.parent_id or project.pk
    return (
        Membership.objects.filter(project_id=target, user=user)
        .values_list("role", flat=True)
        .first()
    )


def can(user, project: Project, action: str, member_role: str | object | None = UNREAD) -> bool:
    """Whether `user` may do `action` (a key of ACTIONS) to `project` (`member_role`: see
    role_of)."""
    if action not in ACTIONS:
        raise KeyError(f"{action!r} is not an action of projects.permissions.ACTIONS")
    role = role_of(user, project, member_role)
    return role is not None and RANK[role] >= RANK[ACTIONS[action]]


def allowed(user, project: Project) -> dict[str, bool]:
    """Every action's verdict, for templates (`may.deploy`, `may.env_reveal`): dots become _."""
    role = role_of(user, project)
    rank = RANK.get(role, 0)
    return {action.replace(".", "_"): rank >= RANK[minimum] for action, minimum in ACTIONS.items()}


def require(user, project: Project, action: str) -> None:
    """Raise PermissionDenied (403) unless `user` may do `action`."""
    if not can(user, project, action):
        raise PermissionDenied(f"Your role in {project.slug} does not allow this ({action}).")


def project_for(user, slug: str, action: str = "view") -> Project:
    """The project if the user may see it (Http404 otherwise, so no name leaks) and may do
    `action` (PermissionDenied otherwise)."""
    project = services.get_project_for_user(user, slug)
    require(user, project, action)
    return project
