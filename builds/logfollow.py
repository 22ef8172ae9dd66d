"""Following a build's log: the poll a browser's sentinel makes, kept light.

Every follower asks `?after=<seq>` DEPLOYER_LOG_POLL_MS after each answer, so with fifty
followers these polls are most of the dashboard's requests (bench/log_followers.py). A poll
reads one row (the build's log fields with its project's owner and parent, which is what the
permission check needs) and, only when the line count says something is new, the lines.
The answer is written here rather than by a template: the template engine and the
`visible_to` query (three ORed subqueries the ORM compiles afresh each time) were most of a
poll's cost, and a poll that finds nothing new is the common case.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from builds import logtail, selectors
from builds.models import Build
from projects import permissions
from projects.models import Project

# A follower gets at most this many lines per answer; a longer backlog comes in a few quick polls.
LOG_BATCH = 500
# What a poll reads of the build (whether lines may be new, whether more can come) and of its
# project (what permissions.role_of needs): values, not select_related + only(), whose
# compilation alone cost more than the query.
POLL_FIELDS = ("state", "finished_at", "log_line_count", "log_complete")
PROJECT_FIELDS = ("project_id", "project__owner_id", "project__parent_id")


def build_to_follow(user, pk: int) -> Build | None:
    """The build if `user` may view its project, with only the poll's fields; None otherwise
    (the caller answers 404, as for a build that does not exist)."""
    row = Build.objects.filter(pk=pk).values_list(*POLL_FIELDS, *PROJECT_FIELDS).first()
    if row is None:
        return None
    return viewable_build(user, pk, row)


def viewable_build(user, pk: int, row, **role) -> Build | None:
    """Build `pk` made of `row` (POLL_FIELDS, then PROJECT_FIELDS) when `user` may view its
    project (`role`: the membership role already read, see permissions.can); else None."""
    state, finished_at, count, complete, project_id, owner_id, parent_id = row
    project = Project(id=project_id, owner_id=owner_id, parent_id=parent_id)
    if not permissions.can(user, project, "view", **role):
        return None
    return Build(
        id=pk,
        project=project,
        state=state,
        finished_at=finished_at,
        log_line_count=count,
        log_complete=complete,
    )


def new_lines(build: Build, after: int) -> list[tuple[int, str]]:
    """Up to LOG_BATCH lines after `after`, as (seq, rendered <div>); no query while the
    count says none are new, and while the build runs, the process's shared copy
    (builds/logtail.py).

    Read the state (in `build`) before the lines: once it says "settled", every line was
    already written, so the answer that stops the sentinel cannot miss one."""
    if selectors.log_settled(build):
        logtail.forget(build.pk)
        return logtail.read(build.pk, after, LOG_BATCH)
    if build.log_line_count <= after:
        return []
    return logtail.lines_after(build.pk, after, build.log_line_count, LOG_BATCH)


def sentinel(build_pk: int, cursor: int, *, full: bool, poll_ms: int) -> str:
    """The element that asks for the lines after `cursor`: at once after a full batch,
    otherwise `poll_ms` later; replaced by the answer (outerHTML), retried after a failure."""
    url = f"{reverse('builds:log-lines', args=[build_pk])}?after={int(cursor)}"
    trigger = "load" if full else f"load delay:{int(poll_ms)}ms"
    return (
        f'<div class="log-sentinel" hx-get="{url}" hx-trigger="{trigger}, retry delay:2s" '
        'hx-swap="outerHTML"><span class="help">Following the log…</span></div>'
    )


def fragment(
    build: Build, lines: list[tuple[int, str]], after: int, *, full: bool, poll_ms: int
) -> SafeString:
    """The lines, (seq, rendered <div>), and while more can come the sentinel carrying the
    next cursor. No sentinel once the log can no longer grow, unless a full batch says more
    is stored."""
    html = "\n".join(div for _, div in lines)
    if full or not selectors.log_settled(build):
        cursor = lines[-1][0] if lines else after
        html = f"{html}\n{sentinel(build.pk, cursor, full=full, poll_ms=poll_ms)}"
    return mark_safe(html)  # noqa: S308 - every text is escaped, the numbers are ints
