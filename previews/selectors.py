"""What the Previews section shows: each pull request's preview with its newest build."""

from __future__ import annotations

from dataclasses import dataclass

from builds.models import Build
from previews.models import Preview
from projects.models import Project
from routing import services as routing


@dataclass(frozen=True)
class Row:
    preview: Preview
    build: Build | None  # the child's newest build, when it has one
    url: str  # where the preview answers ("" until it has a project)


def rows(project: Project) -> list[Row]:
    previews = list(Preview.objects.filter(project=project).select_related("child", "approved_by"))
    child_ids = [p.child_id for p in previews if p.child_id]
    newest: dict[int, Build] = {}
    # One read for every child's builds, newest first: the first seen per child is its newest.
    for build in Build.objects.filter(project_id__in=child_ids).order_by("-pk"):
        newest.setdefault(build.project_id, build)
    return [
        Row(
            preview,
            newest.get(preview.child_id) if preview.child_id else None,
            routing.app_url(preview.child.app_host) if preview.child else "",
        )
        for preview in previews
    ]
