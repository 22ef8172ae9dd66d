"""Scheduled backups of add-ons: which are due, keeping each add-on's newest backups, and
telling the project's channels when a backup failed (a backup nobody hears about failing
is the one that is missing the day it is needed)."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from django.utils import timezone

from addons import backups
from addons.models import AddOn, Backup
from monitoring import notify
from monitoring.alerts import notify_project

logger = logging.getLogger(__name__)


def is_due(addon: AddOn, now: datetime) -> bool:
    """A ready add-on with a schedule whose newest backup (any outcome) is older than it."""
    if addon.state != AddOn.State.READY or addon.backup_every_hours == 0:
        return False
    last = addon.backups.order_by("-created_at").values_list("created_at", flat=True).first()
    return last is None or now - last >= timezone.timedelta(hours=addon.backup_every_hours)


def take_due(client, now: datetime | None = None) -> list[Backup]:
    """Take (and verify) every backup that is due, prune each add-on's old ones; returns them."""
    now = now or timezone.now()
    taken = []
    for addon in AddOn.objects.select_related("project").filter(state=AddOn.State.READY):
        if not is_due(addon, now):
            continue
        backup = backups.take(addon, client, reason="scheduled")
        taken.append(backup)
        if needs_announcing(backup):
            announce_failure(backup)
        prune(addon)
    return taken


def prune(addon: AddOn) -> list[int]:
    """Delete the add-on's backups beyond its newest `keep_backups` (files, then rows); the
    newest verified one is always kept, whatever failed after it. Returns the ids deleted."""
    keep = set(
        addon.backups.order_by("-created_at", "-pk").values_list("pk", flat=True)[
            : addon.keep_backups
        ]
    )
    newest_verified = (
        addon.backups.filter(state=Backup.State.VERIFIED)
        .order_by("-created_at", "-pk")
        .values_list("pk", flat=True)
        .first()
    )
    if newest_verified:
        keep.add(newest_verified)
    deleted = []
    for backup in addon.backups.exclude(pk__in=keep):
        if backup.path:
            Path(backup.path).unlink(missing_ok=True)
        deleted.append(backup.pk)
        backup.delete()
    return deleted


def needs_announcing(backup: Backup) -> bool:
    """A backup that failed, or a verified one whose off-site copy the store refused."""
    return backup.state != Backup.State.VERIFIED or bool(backup.offsite_error)


def announce_failure(backup: Backup) -> None:
    """Tell the project's notification channels that a backup (or its off-site copy) failed,
    and why."""
    addon = backup.addon
    project = addon.project
    if backup.state == Backup.State.VERIFIED:
        what = f"the off-site copy of a backup of its {addon.get_kind_display()} failed"
        text = f"Backup #{backup.pk} is verified and kept here, but {backup.offsite_error}"
    else:
        what = f"a backup of its {addon.get_kind_display()} failed"
        text = (
            f"Backup #{backup.pk} ({backup.reason}) failed: {backup.error} The last verified "
            f"backup is {_last_verified(addon)}."
        )
    message = notify.Message(
        event="backup.failed",
        project=project.slug,
        title=f"{project.slug}: {what}",
        text=text,
        time=backup.created_at,
        tone="bad",
    )
    try:
        notify_project(project, message)
    except Exception:  # a notification must not stop the next add-on's backup
        logger.exception("Could not announce the failure of backup %s", backup.pk)


def _last_verified(addon: AddOn) -> str:
    last = addon.backups.filter(state=Backup.State.VERIFIED).order_by("-created_at").first()
    return f"#{last.pk} of {last.created_at:%Y-%m-%d %H:%M} UTC" if last else "none"
