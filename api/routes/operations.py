"""Domains, health and events, add-ons and volumes: the rest of a project's sections."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404
from ninja import Router, Status
from ninja.pagination import PageNumberPagination, paginate

from addons import services as addon_services
from addons import tasks as addon_tasks
from api import permissions
from api.errors import ApiError
from api.permissions import Scope
from api.schemas import (
    Accepted,
    ActivityOut,
    AddOnIn,
    AddOnOut,
    BackupScheduleIn,
    BuildOut,
    DomainCheckIn,
    DomainCheckOut,
    DomainIn,
    DomainOut,
    HealthEventOut,
    HealthOut,
    VolumeIn,
    VolumeOut,
)
from builds import services as build_services
from deployer.celery import task
from monitoring import selectors as monitoring_selectors
from routing import services as routing
from volumes import services as volume_services

router = Router(tags=["domains, health and add-ons"])


# Domains ----------------------------------------------------------------------------------------


@router.get("/projects/{slug}/domains", response=list[DomainOut], summary="Custom domains")
@paginate(PageNumberPagination, page_size=settings.DEPLOYER_API_PAGE_SIZE)
def list_domains(request, slug: str):
    return permissions.get_project(request, slug).domains.order_by("hostname")


@router.post("/projects/{slug}/domains", response={201: DomainOut}, summary="Add a domain")
def add_domain(request, slug: str, payload: DomainIn):
    """The domain starts pending, with a token to prove it by (a DNS TXT record)."""
    project = permissions.get_project(request, slug, Scope.ADMIN)
    permissions.require_manager(request, project, "add a domain")
    return Status(
        201, routing.add_domain(project, payload.hostname, actor=permissions.actor(request))
    )


@router.delete(
    "/projects/{slug}/domains/{hostname}", response={204: None}, summary="Remove a domain"
)
def remove_domain(request, slug: str, hostname: str):
    project = permissions.get_project(request, slug, Scope.ADMIN)
    permissions.require_manager(request, project, "remove a domain")
    domain = get_object_or_404(project.domains, hostname=hostname.lower())
    routing.remove_domain(domain, actor=permissions.actor(request))
    return Status(204, None)


@router.post(
    "/projects/{slug}/domains/{hostname}/check",
    response=DomainCheckOut,
    summary="Try a domain's proof now",
)
def check_domain(request, slug: str, hostname: str, payload: DomainCheckIn):
    """Verified once the proof passes (then it is routed); otherwise the reason in words."""
    project = permissions.get_project(request, slug, Scope.ADMIN)
    permissions.require_manager(request, project, "prove a domain")
    domain = get_object_or_404(project.domains.select_related("project"), hostname=hostname.lower())
    result = routing.check_domain(domain, payload.method)
    domain.refresh_from_db()
    return {"verified": result.ok, "reason": result.reason, "domain": domain}


# Health and events ------------------------------------------------------------------------------


@router.get("/projects/{slug}/health", response=HealthOut, summary="Is it up")
def health(request, slug: str):
    project = permissions.get_project(request, slug)
    current = monitoring_selectors.current_health(project)
    live = build_services.live_deployment(project)
    return {
        "state": current.state,
        "label": current.label,
        "reason": current.reason,
        "since": current.since,
        "checked_at": current.checked_at,
        "live_build": live.build_id if live else None,
    }


@router.get("/projects/{slug}/events", response=list[HealthEventOut], summary="Health events")
@paginate(PageNumberPagination, page_size=settings.DEPLOYER_API_PAGE_SIZE)
def events(request, slug: str):
    """What changed in the app's health, newest first (states, restarts, deploys, alerts)."""
    return permissions.get_project(request, slug).health_events.all()


@router.get("/projects/{slug}/activity", response=list[ActivityOut], summary="The audit log")
@paginate(PageNumberPagination, page_size=settings.DEPLOYER_API_PAGE_SIZE)
def activity(request, slug: str):
    """Who changed what, newest first (variables by name, never by value)."""
    return permissions.get_project(request, slug).audit_entries.all()


@router.get("/status", response=list[BuildOut], summary="The newest build of each project")
@paginate(PageNumberPagination, page_size=settings.DEPLOYER_API_PAGE_SIZE)
def status(request):
    permissions.require_scope(request, Scope.READ)
    newest = []
    for project in permissions.visible_projects(request):
        build = project.builds.select_related("project").first()
        if build is not None:
            newest.append(build)
    return newest


# Add-ons ---------------------------------------------------------------------------------------


def addon_out(addon) -> dict:
    return {
        "id": addon.pk,
        "kind": addon.kind,
        "state": addon.state,
        "error": addon.error,
        "variables": addon_services.variable_names(addon),
        "health": addon.health,
        "health_reason": addon.health_reason,
        "backup_every_hours": addon.backup_every_hours,
        "keep_backups": addon.keep_backups,
        "created_at": addon.created_at,
    }


@router.get("/projects/{slug}/addons", response=list[AddOnOut], summary="Add-ons")
@paginate(PageNumberPagination, page_size=settings.DEPLOYER_API_PAGE_SIZE)
def list_addons(request, slug: str):
    """Each add-on with the names of the variables it gives the app (never their values)."""
    return [addon_out(addon) for addon in permissions.get_project(request, slug).addons.all()]


@router.post("/projects/{slug}/addons", response={202: AddOnOut}, summary="Add an add-on")
def create_addon(request, slug: str, payload: AddOnIn):
    project = permissions.get_project(request, slug, Scope.ADMIN)
    permissions.require_manager(request, project, "add an add-on")
    try:
        addon = addon_services.create_addon(project, payload.kind, actor=permissions.actor(request))
    except addon_services.AddOnError as exc:
        raise ApiError(400, "invalid_input", str(exc)) from None
    transaction.on_commit(lambda: addon_tasks.provision_addon.delay(addon.pk))
    return Status(202, addon_out(addon))


@router.delete("/projects/{slug}/addons/{pk}", response={202: Accepted}, summary="Remove an add-on")
def remove_addon(request, slug: str, pk: int, keep_data: bool = False):
    project = permissions.get_project(request, slug, Scope.ADMIN)
    permissions.require_manager(request, project, "remove an add-on")
    addon = get_object_or_404(project.addons, pk=pk)
    who = permissions.actor(request)
    transaction.on_commit(lambda: addon_tasks.remove_addon.delay(addon.pk, keep_data, who))
    kept = " (its data is kept)" if keep_data else ""
    return Status(202, {"message": f"{addon} is being removed{kept}."})


@router.post("/projects/{slug}/addons/{pk}/backup", response={202: Accepted}, summary="Back up now")
def back_up_addon(request, slug: str, pk: int):
    """A backup now, taken and verified by the worker; it shows on the add-ons page then."""
    project = permissions.get_project(request, slug, Scope.ADMIN)
    permissions.require_manager(request, project, "back up an add-on")
    addon = get_object_or_404(project.addons, pk=pk)
    who = permissions.actor(request)
    transaction.on_commit(lambda: addon_tasks.back_up_addon.delay(addon.pk, who))
    return Status(202, {"message": f"A backup of {addon} is being taken."})


@router.put("/projects/{slug}/addons/{pk}/schedule", response=AddOnOut, summary="Backup schedule")
def set_schedule(request, slug: str, pk: int, payload: BackupScheduleIn):
    project = permissions.get_project(request, slug, Scope.ADMIN)
    permissions.require_manager(request, project, "change an add-on's backups")
    addon = get_object_or_404(project.addons, pk=pk)
    addon_services.set_backup_schedule(
        addon, every_hours=payload.every_hours, keep=payload.keep, actor=permissions.actor(request)
    )
    return addon_out(addon)


# Volumes ---------------------------------------------------------------------------------------


def volume_out(volume) -> dict:
    return {
        "id": volume.pk,
        "name": volume.name,
        "path": volume.path,
        "size": volume.size,
        "measured_at": volume.measured_at,
        "removing": volume.removing_at is not None,
        "created_at": volume.created_at,
    }


@router.get("/projects/{slug}/volumes", response=list[VolumeOut], summary="Volumes")
@paginate(PageNumberPagination, page_size=settings.DEPLOYER_API_PAGE_SIZE)
def list_volumes(request, slug: str):
    return [volume_out(v) for v in permissions.get_project(request, slug).volumes.all()]


@router.post("/projects/{slug}/volumes", response={201: VolumeOut}, summary="Add a volume")
def add_volume(request, slug: str, payload: VolumeIn):
    """Mounted in the release and web containers from the next deploy on."""
    project = permissions.get_project(request, slug, Scope.ADMIN)
    permissions.require_manager(request, project, "add a volume")
    try:
        added = volume_services.add_volume(
            project, payload.name, payload.path, actor=permissions.actor(request)
        )
    except ValidationError as exc:
        raise ApiError(400, "invalid_input", " ".join(exc.messages)) from None
    except volume_services.VolumeError as exc:
        raise ApiError(400, "invalid_input", str(exc)) from None
    return Status(201, volume_out(added))


@router.delete("/projects/{slug}/volumes/{pk}", response={202: Accepted}, summary="Remove a volume")
def remove_volume(request, slug: str, pk: int, confirm: str = ""):
    """Deletes its files: `confirm` must be the volume's name."""
    project = permissions.get_project(request, slug, Scope.ADMIN)
    permissions.require_manager(request, project, "remove a volume")
    found = get_object_or_404(project.volumes, pk=pk, removing_at__isnull=True)
    try:
        volume_services.request_removal(found, confirm, actor=permissions.actor(request))
    except volume_services.VolumeError as exc:
        raise ApiError(400, "invalid_input", str(exc)) from None
    transaction.on_commit(lambda: task("volumes.tasks.settle_volumes").delay())
    return Status(202, {"message": f"The volume {found.name} is detached and being removed."})
