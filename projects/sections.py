"""A project's sections: the one list the section nav, the URL tests and the browser tests read.

Every section is a full page at /projects/<slug>/<key>/ (the overview at /projects/<slug>/),
drawn inside templates/projects/frame.html: the project's name and state, then this nav.
A new capability gets a new entry here and its own page, never another block on a page.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import reverse

from builds import selectors as build_selectors
from builds.selectors import ProjectStatus
from projects import permissions
from projects.models import Project


@dataclass(frozen=True)
class Section:
    key: str
    label: str
    url_name: str  # takes the project's slug


SECTIONS = (
    Section("overview", "Overview", "projects:detail"),
    Section("deployments", "Deployments", "builds:deployments"),
    Section("logs", "Logs", "builds:runtime-logs"),
    Section("environment", "Environment", "projects:environment"),
    Section("domains", "Domains", "routing:project"),
    Section("monitoring", "Monitoring", "monitoring:health"),
    Section("addons", "Add-ons", "addons:list"),
    Section("volumes", "Volumes", "volumes:list"),
    Section("processes", "Processes", "processes:page"),
    Section("previews", "Previews", "previews:list"),
    Section("activity", "Activity", "projects:activity"),
    Section("settings", "Settings", "projects:settings"),
)
BY_KEY = {section.key: section for section in SECTIONS}


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str
    url: str
    current: bool


def nav(project: Project, current: str) -> list[NavItem]:
    if current not in BY_KEY:
        raise ValueError(f"{current!r} is not one of the project's sections")
    return [
        NavItem(s.key, s.label, reverse(s.url_name, args=[project.slug]), s.key == current)
        for s in SECTIONS
    ]


def frame(
    request: HttpRequest, project: Project, current: str, *, status: ProjectStatus | None = None
) -> dict:
    """What the frame around a section shows: the project's name and state, the reader's
    role in it (unless they own it), and the nav.

    Empty for an htmx fragment, which is drawn without the frame (a boosted request is a page:
    see deployer/htmx.py). `status` saves reading the state again when the view has it."""
    if request.htmx:
        return {}
    return {
        "project": project,
        "project_nav": nav(project, current),
        "project_status": status or build_selectors.project_row(project).status,
        "project_role": permissions.role_of(request.user, project),
    }
