"""The audit log: one row per change a person, a webhook, a token or a command made to a
project. Services record it in the same transaction as the change, so none is lost or
invented; values of variables never enter it."""

from __future__ import annotations

from projects.models import AuditEntry, Project

Action = AuditEntry.Action


def actor_label(actor) -> str:
    """A user's name, a label given as text ("webhook github delivery 42"), or "system"."""
    if actor is None:
        return "system"
    if isinstance(actor, str):
        return actor[:200]
    return actor.get_username()[:200]


def record(project: Project, action: str, *, actor=None, summary: str = "") -> AuditEntry:
    """Note that `actor` (a user, a text label or None for Deployer itself) did `action`."""
    return AuditEntry.objects.create(
        project=project,
        project_slug=project.slug,
        actor=None if actor is None or isinstance(actor, str) else actor,
        actor_label=actor_label(actor),
        action=action,
        summary=summary[:500],
    )


def recent(project: Project, limit: int = 100) -> list[AuditEntry]:
    return list(project.audit_entries.select_related("actor")[:limit])
