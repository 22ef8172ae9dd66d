"""What the project's overview shows, read from the apps that own each part: its first screen
answers "is it up, which commit, where, deploy" and lists the last few things that happened."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from builds import selectors as build_selectors
from monitoring import selectors as monitoring_selectors
from projects import audit
from projects.models import Project

RECENT_EVENTS = 6


@dataclass(frozen=True)
class Event:
    """One line of the overview's recent events: a build, a health event or an audit entry."""

    at: datetime
    kind: str  # "build", "health" or "audit": the template words each kind
    item: object


def overview(project: Project) -> dict:
    deployments = build_selectors.deployments_panel(project)
    health = monitoring_selectors.panel(project)
    entries = audit.recent(project, RECENT_EVENTS)
    return {
        **deployments,
        "health": health["health"],
        "uptime_day": health["uptime_day"],
        "checks_day": health["checks_day"],
        "events": recent_events(deployments["builds"], health["events"], entries),
    }


def recent_events(builds, health_events, entries, limit: int = RECENT_EVENTS) -> list[Event]:
    """The newest `limit` of them all, newest first."""
    events = [Event(build.created_at, "build", build) for build in builds]
    events += [Event(event.created_at, "health", event) for event in health_events]
    events += [Event(entry.created_at, "audit", entry) for entry in entries]
    return sorted(events, key=lambda event: event.at, reverse=True)[:limit]
