"""Celery tasks: the worker does the add-ons' engine work (the web process may not reach it)."""

from __future__ import annotations

from celery import shared_task

from addons import backups, health, schedule, services
from addons.models import AddOn
from builds import docker as docker_seam


@shared_task
def provision_addon(addon_id: int) -> str:
    addon = AddOn.objects.select_related("project").filter(pk=addon_id).first()
    if addon is None:
        return "gone"
    try:
        with docker_seam.client() as client:
            return services.provision(addon, client).state
    except docker_seam.DockerUnavailable as exc:
        AddOn.objects.filter(pk=addon_id).update(state=AddOn.State.FAILED, error=str(exc))
        return AddOn.State.FAILED


@shared_task
def remove_addon(addon_id: int, keep_data: bool = False, actor: str | None = None) -> str:
    """`actor`: the name of who asked, for the audit log."""
    addon = AddOn.objects.select_related("project").filter(pk=addon_id).first()
    if addon is None:
        return "gone"
    with docker_seam.client() as client:
        try:
            services.remove_addon(addon, client, keep_data=keep_data, actor=actor)
        except backups.BackupError as exc:
            AddOn.objects.filter(pk=addon_id).update(error=str(exc))
            return "kept"
    return "removed"


@shared_task
def take_due_backups() -> list[int]:
    """The scheduled backups that are due (beat, every DEPLOYER_ADDON_BACKUP_CHECK_INTERVAL)."""
    with docker_seam.client() as client:
        return [backup.pk for backup in schedule.take_due(client)]


@shared_task
def back_up_addon(addon_id: int, actor: str | None = None) -> str:
    """One backup now, asked for on the add-ons page."""
    addon = AddOn.objects.select_related("project").filter(pk=addon_id).first()
    if addon is None:
        return "gone"
    with docker_seam.client() as client:
        backup = backups.take(addon, client, reason=f"asked for by {actor or 'someone'}")
    if schedule.needs_announcing(backup):
        schedule.announce_failure(backup)
    return backup.state


@shared_task(soft_time_limit=120, time_limit=150)
def check_addons() -> int:
    """Is every ready add-on answering (beat, every DEPLOYER_ADDON_HEALTH_INTERVAL)? Returns
    how many changed."""
    try:
        with docker_seam.client() as client:
            return len(health.check_all(client))
    except docker_seam.DockerUnavailable:
        return 0  # the app checks record the engine being unreachable
