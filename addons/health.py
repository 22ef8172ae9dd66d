"""Add-on health: every ready add-on is asked, inside its own container, whether it serves
(pg_isready, a Redis PING); a change to down or back up is a health event of the project and
a notification, like an app's. Never a container's address: the check runs through the
engine (exec), so the add-on need not be reachable from the worker."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from addons import engine, services
from addons.models import AddOn
from monitoring import notify
from monitoring.alerts import notify_project
from monitoring.models import HealthEvent

logger = logging.getLogger(__name__)


def probe(addon: AddOn, client) -> tuple[str, str]:
    """(Health, reason) of one add-on now."""
    state = engine.status(client, addon.container_name)
    if state != "running":
        return AddOn.Health.DOWN, f"Its container is {state}."
    if not engine.is_ready(client, addon.container_name, services.ready_command(addon)):
        what = "a PING" if addon.kind == "redis" else "pg_isready"
        return AddOn.Health.DOWN, f"Its container runs but does not answer {what}."
    return AddOn.Health.UP, ""


def check_all(client, now: datetime | None = None) -> list[HealthEvent]:
    """Check every ready add-on; returns the events of those whose health changed."""
    events = []
    for addon in AddOn.objects.select_related("project").filter(state=AddOn.State.READY):
        if addon.project.deleting_at:
            continue
        try:
            health, reason = probe(addon, client)
        except Exception as exc:  # noqa: BLE001 - one add-on must not stop the others' checks
            logger.warning("Could not check the add-on %s: %s", addon.container_name, exc)
            continue
        event = record(addon, health, reason, now or timezone.now())
        if event is not None:
            events.append(event)
    return events


def record(addon: AddOn, health: str, reason: str, now: datetime) -> HealthEvent | None:
    """Store what a check saw; an event and a notification when it went down or came back
    (a first check that finds it up is no news)."""
    previous = addon.health
    with transaction.atomic():
        # The conditional update claims the change: two checks at once announce it once.
        changed = AddOn.objects.filter(pk=addon.pk, health=previous).update(
            health=health,
            health_reason=reason,
            health_checked_at=now,
            **({"health_since": now} if health != previous else {}),
        )
        if not changed or health == previous:
            return None
        if previous == AddOn.Health.UNKNOWN and health == AddOn.Health.UP:
            return None
        return _announce(addon, health, reason, now)


def _announce(addon: AddOn, health: str, reason: str, now: datetime) -> HealthEvent:
    project = addon.project
    name = f"The {addon.get_kind_display()} add-on {addon.container_name}"
    if health == AddOn.Health.DOWN:
        kind, text, tone, title = (
            HealthEvent.Kind.ALERT,
            f"{name} is down: {reason}",
            "bad",
            f"{project.slug}: its {addon.get_kind_display()} is down",
        )
    else:
        kind, text, tone, title = (
            HealthEvent.Kind.ALERT_ENDED,
            f"{name} answers again.",
            "ok",
            f"{project.slug}: its {addon.get_kind_display()} answers again",
        )
    event = HealthEvent.objects.create(project=project, created_at=now, kind=kind, reason=text)
    message = notify.Message(
        event="addon.down" if health == AddOn.Health.DOWN else "addon.up",
        project=project.slug,
        title=title,
        text=text,
        time=now,
        tone=tone,
    )
    notify_project(project, message, event=event, topic="health")
    return event
