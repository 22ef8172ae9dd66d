"""What Deployer does with a pull request: build its preview, hold it, or remove it.

`on_pull_request` is called by webhooks.services with the production project locked (one
delivery of a project at a time), so the count of running previews and the choice of the next
queued one cannot race; the dashboard's actions take the same lock. A preview only ever builds
a commit of the project's own repository: the payload names the commit, never the URL (a
fork's commits are fetched from the base repository, which publishes them as
refs/pull/<n>/head on GitHub, Gitea and Forgejo, refs/merge-requests/<n>/head on GitLab).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from addons import services as addon_services
from addons.models import AddOn
from builds import docker as docker_seam
from builds.deletion import request_deletion
from builds.models import Build
from builds.services import live_deployment, request_build
from deployer import outbound
from deployer.celery import task
from previews.events import PullAction, PullRequest
from previews.models import Preview, PreviewSettings
from projects import audit, crypto
from projects.models import Project
from projects.validators import validate_branch

logger = logging.getLogger(__name__)

State = Preview.State
MAX_SLUG = 63  # one DNS label: the preview answers at <slug>.<base domain>
CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# The fields a preview copies from its production project (what and how it builds).
COPIED_FIELDS = (
    "repo_url",
    "encrypted_repo_credentials",
    "encrypted_deploy_key",
    "deploy_public_key",
    "ssh_known_hosts",
    "branch",
    "app_root",
    "framework",
    "start_command",
    "entrypoint",
    "python_version",
    "requirements_file",
    "system_packages",
    "health_check_path",
    "builder",
    "container_port",
    "run_as_root",
    "keep_sqlite",
)


class PreviewError(Exception):
    """A preview action that cannot be done, in one sentence."""


@dataclass(frozen=True)
class Decision:
    """What became of a pull request event: `verdict` is a webhooks Delivery verdict."""

    verdict: str  # queued, held, ignored, duplicate, rejected, removed
    reason: str
    build: Build | None = None
    status: int = 200


def settings_for(project: Project) -> PreviewSettings:
    """The project's preview settings (the operator's defaults until someone saves them)."""
    found = PreviewSettings.objects.filter(project=project).first()
    return found or PreviewSettings(project=project)


@sensitive_variables("status_token")
def save_settings(
    project: Project,
    *,
    enabled: bool,
    max_running: int,
    idle_hours: int,
    status_api_url: str | None = None,
    status_token: str | None = None,
    actor=None,
) -> PreviewSettings:
    """Store the project's preview settings; raises ValidationError. A higher limit starts
    queued previews at once. `status_api_url` / `status_token`: None keeps them, "" removes
    them; the URL is checked as every user-given URL is (deployer/outbound.py)."""
    current = settings_for(project)
    current.enabled, current.max_running, current.idle_hours = enabled, max_running, idle_hours
    if status_api_url is not None:
        current.status_api_url = status_api_url.strip()
        if current.status_api_url:
            try:
                outbound.check_url(current.status_api_url)
            except outbound.Refused as exc:
                raise ValidationError({"status_api_url": str(exc)}) from None
    if status_token is not None:
        token = status_token.strip()
        current.encrypted_status_token = crypto.encrypt(token) if token else ""
    current.full_clean()
    with transaction.atomic():
        current.save()
        audit.record(
            project,
            audit.Action.SETTINGS,
            actor=actor,
            summary=f"previews {'on' if enabled else 'off'}, at most {max_running}, "
            f"idle stop after {idle_hours} h",
        )
    promote(project)
    return current


def preview_slug(project: Project, number: int) -> str:
    return f"pr-{number}-{project.slug}"


# Pull request events ---------------------------------------------------------------------------


def on_pull_request(project: Project, provider: str, pull: PullRequest, sender: str) -> Decision:
    """Open, update or close the preview of `pull`. The caller holds the project's row lock."""
    number = f"PR #{pull.number}"
    if project.parent_id:
        return Decision("ignored", "A preview has no previews of its own.")
    if not settings_for(project).enabled:
        return Decision("ignored", f"{number}: previews are off for this project.")
    if pull.action == PullAction.OTHER:
        return Decision(
            "ignored",
            f"{number}: '{_clean(pull.raw_action, 40)}' events change no preview; only opened, "
            "reopened, pushed to and closed do.",
        )
    if pull.base_branch != project.branch:
        return Decision(
            "ignored",
            f"{number} is a pull request to {_clean(pull.base_branch, 80)!r}: previews are made for "
            f"pull requests to {project.branch}.",
        )
    preview = Preview.objects.filter(project=project, number=pull.number).first()
    if pull.action == PullAction.CLOSE:
        return _on_close(preview, number, sender)
    if preview and preview.state == State.CLOSED and pull.action == PullAction.UPDATE:
        return Decision("ignored", f"{number} is closed; reopen it for a preview.")
    refused = _refused(project, pull)
    if refused:
        return refused
    preview = _recorded(project, pull, preview, sender)
    current = _build_of_head(preview)
    if current:
        return Decision(
            "duplicate",
            f"{number}: commit {preview.short_sha} is already in its preview (build "
            f"#{current.pk}).",
            current,
        )
    if preview.from_fork and preview.approved_sha != preview.head_sha:
        return _hold_for_approval(preview, number)
    return deploy(preview, detail=f"{provider} pull request #{pull.number}")


def _clean(value: str, limit: int) -> str:
    """Text from a payload made safe to store and show: no control characters, bounded."""
    return CONTROL.sub("", value)[:limit]


def _refused(project: Project, pull: PullRequest) -> Decision | None:
    """A pull request whose preview cannot be made, with the reason; None when it can."""
    slug = preview_slug(project, pull.number)
    if len(slug) > MAX_SLUG:
        return Decision(
            "rejected",
            f"PR #{pull.number}: its preview's name {slug} is longer than {MAX_SLUG} characters "
            "(one DNS label); a shorter project name leaves room for it.",
        )
    taken = Project.objects.filter(slug=slug).exclude(parent=project).exists()
    if taken:
        return Decision(
            "rejected",
            f"PR #{pull.number}: its preview's name {slug} is another project's; rename that "
            "project to preview this pull request.",
        )
    if not pull.head_sha:
        if pull.from_fork:
            return Decision(
                "rejected",
                f"PR #{pull.number} comes from a fork and the event names no full commit: "
                "Deployer builds only commits it can fetch from the project's own repository.",
            )
        if not _valid_branch(pull.head_branch):
            return Decision(
                "rejected", f"PR #{pull.number}: its branch name is not one Deployer builds."
            )
    return None


def _recorded(project: Project, pull: PullRequest, preview: Preview | None, sender: str) -> Preview:
    """The preview row, created or brought up to the event's head commit."""
    now = timezone.now()
    fields = {
        "title": _clean(pull.title, 200),
        "url": _clean(pull.url, 500) if pull.url.startswith(("https://", "http://")) else "",
        "head_branch": _clean(pull.head_branch, 255),
        "head_sha": pull.head_sha,
        "head_repo": _clean(pull.head_repo, 255),
        "from_fork": pull.from_fork,
        "last_activity": now,
    }
    if preview is None:
        return Preview.objects.create(
            project=project, number=pull.number, opened_by=_clean(sender, 100), **fields
        )
    if preview.state == State.CLOSED:  # reopened: a fresh start, a fresh approval
        fields.update(state=State.QUEUED, approved_sha="", approved_by=None, reason="")
    for name, value in fields.items():
        setattr(preview, name, value)
    preview.save()
    return preview


def _build_of_head(preview: Preview) -> Build | None:
    """The preview's build of its head commit that is queued, running or live now."""
    if preview.state != State.ACTIVE or preview.child is None or not preview.head_sha:
        return None
    child = preview.child
    active = child.builds.filter(commit_sha=preview.head_sha, state__in=Build.ACTIVE_STATES)
    if active.exists():
        return active.first()
    live = live_deployment(child)
    return live.build if live and live.build.commit_sha == preview.head_sha else None


def _hold_for_approval(preview: Preview, number: str) -> Decision:
    reason = (
        f"{number} comes from a fork ({preview.head_repo or 'unknown repository'}): an owner "
        f"or deployer must approve commit {preview.short_sha or preview.head_branch} on the "
        "Previews page before it builds."
    )
    # A running preview of an earlier approved commit keeps running until approval.
    if preview.state != State.ACTIVE:
        preview.state = State.WAITING_APPROVAL
    preview.reason = reason
    preview.save(update_fields=["state", "reason", "updated_at"])
    return Decision("held", reason)


def _on_close(preview: Preview | None, number: str, sender: str) -> Decision:
    if preview is None:
        return Decision("ignored", f"{number} has no preview: nothing to remove.")
    if preview.state == State.CLOSED:
        return Decision("duplicate", f"The preview of {number} was removed already.")
    take_down(preview, State.CLOSED, f"{number} was closed by {sender or 'the git host'}.")
    return Decision("removed", f"{number} closed: its preview is being removed.")


# Starting, stopping ----------------------------------------------------------------------------


def deploy(preview: Preview, *, detail: str = "", actor=None) -> Decision:
    """Build the preview's head commit now, or queue it when the project's previews are all
    running. The caller holds the production project's row lock."""
    project = preview.project
    running = (
        Preview.objects.filter(project=project, state__in=Preview.RUNNING_STATES)
        .exclude(pk=preview.pk)
        .count()
    )
    limit = settings_for(project).max_running
    if preview.state not in Preview.RUNNING_STATES and running >= limit:
        return _queue(
            preview,
            f"{running} previews are running, the most this project allows ({limit}); this one "
            "starts when one of them closes or stops.",
        )
    child = Project.objects.filter(slug=preview_slug(project, preview.number)).first()
    if child is not None and child.parent_id != project.pk:
        preview.state, preview.reason = State.STOPPED, f"{child.slug} is another project's name."
        preview.save(update_fields=["state", "reason", "updated_at"])
        return Decision("rejected", f"PR #{preview.number}: {preview.reason}")
    if child is not None and child.deleting_at is not None:
        return _queue(
            preview, "Its previous preview is still being removed; it starts right after."
        )
    child = _child(preview, child)
    preview.state, preview.reason, preview.child, preview.queued_at = State.ACTIVE, "", child, None
    preview.last_activity = timezone.now()
    preview.save()
    if _needs_database(child):
        transaction.on_commit(lambda: task("previews.tasks.start_with_database").delay(preview.pk))
        return Decision(
            "queued",
            f"PR #{preview.number}: its preview's own empty database is being created; the "
            "build follows.",
            status=202,
        )
    build = _request_build(preview, detail=detail, actor=actor)
    return Decision(
        "queued",
        f"Queued build #{build.pk} of PR #{preview.number} "
        f"({preview.short_sha or preview.head_branch}) at {child.app_host}.",
        build,
        status=202,
    )


def _queue(preview: Preview, reason: str) -> Decision:
    preview.state, preview.reason = State.QUEUED, reason
    preview.queued_at = preview.queued_at or timezone.now()
    preview.save(update_fields=["state", "reason", "queued_at", "updated_at"])
    return Decision("held", f"PR #{preview.number}: {reason}")


def _request_build(preview: Preview, *, detail: str = "", actor=None) -> Build:
    # A branch of the project's own repository is cloned by name (git's fast path); a fork's
    # commit is fetched by its sha alone.
    ref = "" if preview.from_fork or not _valid_branch(preview.head_branch) else preview.head_branch
    build = request_build(
        preview.child,
        trigger=Build.Trigger.MANUAL if actor else Build.Trigger.WEBHOOK,
        commit_sha=preview.head_sha,
        ref=ref,
        triggered_by=actor,
        detail=detail or f"preview of pull request #{preview.number}",
    )
    if settings_for(preview.project).reports_status:
        transaction.on_commit(lambda: task("previews.tasks.report_status").delay(build.pk))
    return build


def _valid_branch(name: str) -> bool:
    try:
        validate_branch(name)
    except ValidationError:
        return False
    return True


def _child(preview: Preview, child: Project | None) -> Project:
    """The preview's project, created or brought up to its parent's build settings."""
    parent = preview.project
    if child is None:
        child = Project(slug=preview_slug(parent, preview.number), parent=parent)
    child.owner_id = parent.owner_id
    for name in COPIED_FIELDS:
        setattr(child, name, getattr(parent, name))
    child.memory_limit_mb = min(parent.memory_limit_mb, settings.DEPLOYER_PREVIEW_MEMORY_MB)
    child.save()
    _ensure_database(parent, child)
    return child


def _ensure_database(parent: Project, child: Project) -> None:
    """A PostgreSQL add-on on production gives the preview its own, empty one: never
    production's data, its credentials or its network."""
    kinds = set(parent.addons.values_list("kind", flat=True))
    have = set(child.addons.values_list("kind", flat=True))
    for kind in kinds - have:
        addon_services.create_addon(child, kind, actor="preview")


def _needs_database(child: Project) -> bool:
    return child.addons.exclude(state=AddOn.State.READY).exists()


def start_with_database(preview_id: int) -> int | None:
    """The worker's part of starting a preview with an add-on: create its database (waiting
    until it answers), then queue the build. Returns the build's id, None when not started."""
    preview = Preview.objects.select_related("child").filter(pk=preview_id).first()
    if preview is None or preview.state != State.ACTIVE or preview.child is None:
        return None
    with docker_seam.client() as client:
        for addon in preview.child.addons.exclude(state=AddOn.State.READY):
            addon_services.provision(addon, client)
    return _request_build(preview).pk


def take_down(preview: Preview, state: str, reason: str, *, actor=None) -> None:
    """Stop (or close) a preview: its child project's builds are cancelled and the worker
    removes its containers, images, network, volumes, database, routes and rows. The slot it
    held goes to the oldest queued preview."""
    child = preview.child
    preview.state, preview.reason, preview.child, preview.queued_at = state, reason, None, None
    preview.save()
    if child is not None and child.deleting_at is None:
        request_deletion(child, actor=actor or reason)
    transaction.on_commit(lambda: task("previews.tasks.promote").delay(preview.project_id))


# The dashboard's actions -----------------------------------------------------------------------


def _locked(preview: Preview) -> Preview:
    """The preview again, with its production project's row locked (as a delivery does)."""
    Project.objects.select_for_update().filter(pk=preview.project_id).first()
    return Preview.objects.select_related("project", "child").get(pk=preview.pk)


@transaction.atomic
def approve(preview: Preview, user) -> Decision:
    """An owner's or deployer's approval of a fork's head commit: it builds (or queues)."""
    preview = _locked(preview)
    if preview.state in (State.CLOSED,):
        raise PreviewError(f"PR #{preview.number} is closed.")
    if not preview.head_sha:
        raise PreviewError(f"PR #{preview.number} names no commit to approve.")
    preview.approved_sha, preview.approved_by = preview.head_sha, user
    preview.save(update_fields=["approved_sha", "approved_by", "updated_at"])
    audit.record(
        preview.project,
        audit.Action.DEPLOY,
        actor=user,
        summary=f"approved PR #{preview.number} at {preview.short_sha}",
    )
    if _build_of_head(preview):
        return Decision("duplicate", f"PR #{preview.number} is already at {preview.short_sha}.")
    return deploy(preview, actor=user)


@transaction.atomic
def stop(preview: Preview, user) -> None:
    preview = _locked(preview)
    if preview.state in (State.STOPPED, State.CLOSED):
        raise PreviewError(f"The preview of PR #{preview.number} is not running.")
    take_down(preview, State.STOPPED, f"Stopped by {user}.", actor=user)


@transaction.atomic
def start(preview: Preview, user) -> Decision:
    """Start a stopped preview again at its last head commit (a fork's needs its approval)."""
    preview = _locked(preview)
    if preview.state != State.STOPPED:
        raise PreviewError(f"The preview of PR #{preview.number} is not stopped.")
    if preview.from_fork and preview.approved_sha != preview.head_sha:
        _hold_for_approval(preview, f"PR #{preview.number}")
        return Decision("held", preview.reason)
    preview.state = State.QUEUED
    return deploy(preview, actor=user)


# The worker's rounds ---------------------------------------------------------------------------


@transaction.atomic
def promote(project: Project | int) -> list[int]:
    """Start the oldest queued previews of the project while it has free slots; their ids.

    One count and one ordered read per project, whatever the number of previews: 20 open
    pull requests with a limit of 3 start 3 and queue 17 in arrival order."""
    project_id = project if isinstance(project, int) else project.pk
    parent = Project.objects.select_for_update().filter(pk=project_id).first()
    if parent is None or parent.deleting_at is not None:
        return []
    limit = settings_for(parent).max_running
    running = Preview.objects.filter(project=parent, state__in=Preview.RUNNING_STATES).count()
    started = []
    queued = Preview.objects.filter(project=parent, state=State.QUEUED).order_by("queued_at", "pk")
    for preview in queued[: max(limit - running, 0)]:
        decision = deploy(preview)
        if decision.verdict == "queued":
            started.append(preview.pk)
    return started


def sweep() -> dict[str, list[int]]:
    """Stop previews idle past their project's limit, then fill free slots: the beat's round."""
    now = timezone.now()
    # A preview whose project someone deleted by hand holds no slot any more.
    Preview.objects.filter(state=State.ACTIVE, child__isnull=True).update(
        state=State.STOPPED, reason="Its project was deleted."
    )
    stopped = []
    for preview in Preview.objects.filter(state=State.ACTIVE).select_related("project"):
        hours = settings_for(preview.project).idle_hours
        if hours and preview.last_activity < now - timedelta(hours=hours):
            with transaction.atomic():
                locked = _locked(preview)
                if locked.state == State.ACTIVE:
                    take_down(locked, State.STOPPED, f"Stopped after {hours} idle hours.")
                    stopped.append(preview.pk)
    started = []
    waiting = Preview.objects.filter(state=State.QUEUED).values_list("project_id", flat=True)
    for project_id in sorted(set(waiting)):
        started += promote(project_id)
    return {"stopped": stopped, "started": started}
