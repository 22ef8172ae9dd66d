"""Environment variables: names and flags to read; values are write-only except through
the explicit reveal endpoint, as on the Environment page.

No `from __future__ import annotations` here: sensitive_variables wraps the endpoints, and
django-ninja reads their payload types from the real annotations.
"""

import logging

from django.shortcuts import get_object_or_404
from django.views.decorators.debug import sensitive_variables
from ninja import Router, Status
from ninja.pagination import PageNumberPagination, paginate

from api import permissions
from api.errors import ApiError
from api.permissions import Scope
from api.schemas import (
    EnvImportIn,
    EnvImportOut,
    EnvVarCreate,
    EnvVarOut,
    EnvVarRevealed,
    EnvVarUpdate,
)
from projects import crypto, services
from projects.models import EnvVar

logger = logging.getLogger(__name__)
router = Router(tags=["environment"])


def _env_var(project, key: str) -> EnvVar:
    return get_object_or_404(project.env_vars, key=key)


@router.get("/projects/{slug}/env", response=list[EnvVarOut], summary="Variables (no values)")
@paginate(PageNumberPagination, page_size=100)
def list_env(request, slug: str):
    return permissions.get_project(request, slug).env_vars.all()


@router.post("/projects/{slug}/env", response={201: EnvVarOut}, summary="Add a variable")
@sensitive_variables("payload")
def add_env(request, slug: str, payload: EnvVarCreate):
    project = permissions.get_project(request, slug, Scope.ADMIN)
    env_var = services.add_env_var(
        project,
        payload.key,
        payload.value,
        available_at_build=payload.available_at_build,
        actor=permissions.actor(request),
    )
    return Status(201, env_var)


@router.put("/projects/{slug}/env/{key}", response=EnvVarOut, summary="Set a variable")
@sensitive_variables("payload")
def set_env(request, slug: str, key: str, payload: EnvVarUpdate):
    """Change the variable, or add it when it does not exist (then `value` is needed)."""
    project = permissions.get_project(request, slug, Scope.ADMIN)
    env_var = project.env_vars.filter(key=key).first()
    if env_var is None:
        if payload.value is None:
            raise ApiError(400, "invalid_input", f"{key} does not exist yet: give its value.")
        return services.add_env_var(
            project,
            key,
            payload.value,
            available_at_build=bool(payload.available_at_build),
            actor=permissions.actor(request),
        )
    return services.update_env_var(
        env_var,
        value=payload.value,
        available_at_build=payload.available_at_build,
        actor=permissions.actor(request),
    )


@router.delete("/projects/{slug}/env/{key}", response={204: None}, summary="Delete a variable")
def delete_env(request, slug: str, key: str):
    project = permissions.get_project(request, slug, Scope.ADMIN)
    services.delete_env_var(_env_var(project, key), actor=permissions.actor(request))
    return Status(204, None)


@router.post(
    "/projects/{slug}/env/{key}/reveal", response=EnvVarRevealed, summary="Reveal one value"
)
def reveal_env(request, slug: str, key: str):
    """The one place a stored value is shown, on an explicit request for that one value."""
    project = permissions.get_project(request, slug, Scope.ADMIN)
    if not permissions.may_reveal(request, project):
        raise ApiError(403, "forbidden", "This token may not reveal values.")
    env_var = _env_var(project, key)
    logger.info("%s revealed %s of project %s", permissions.actor(request), key, project.slug)
    try:
        value = env_var.decrypted_value()
    except crypto.InvalidToken as exc:
        raise ApiError(409, "undecryptable", str(exc)) from None
    return {
        "key": env_var.key,
        "available_at_build": env_var.available_at_build,
        "updated_at": env_var.updated_at,
        "value": value,
    }


@router.post("/projects/{slug}/env-import", response=EnvImportOut, summary="Import a .env file")
@sensitive_variables("payload")
def import_env(request, slug: str, payload: EnvImportIn):
    """Add or replace every variable of the file; all or nothing."""
    project = permissions.get_project(request, slug, Scope.ADMIN)
    result = services.import_env_file(project, payload.text, actor=permissions.actor(request))
    return {"created": result.created, "updated": result.updated}
