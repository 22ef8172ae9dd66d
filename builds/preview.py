"""Detection previews: what a deploy of the branch would build, made by a worker.

A page asks for one (request_preview), a worker clones the branch shallowly, detects and
generates the Dockerfile (run_preview), and the page asks again every POLL_SECONDS until the
preview is ready, failed or past its deadline (detection_of). Only files are read: no code
of the repository runs, and no repository is cloned inside a web request.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from dataclasses import asdict, replace
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from addons import services as addon_services
from builds import docker as docker_seam
from builds import mirrors, selectors
from builds.images import image_policy
from builds.models import DetectionPreview
from builds.pipeline import clone, detect
from builds.pipeline.detection import tree
from builds.pipeline.errors import StageError
from builds.pipeline.plan import Overrides, Plan
from builds.pythons import available_pythons
from projects import services as project_services
from projects.models import Project

logger = logging.getLogger(__name__)

State = DetectionPreview.State

# One git command of the preview's clone may take this long at most.
PREVIEW_CLONE_TIMEOUT = 20
# From the request to the result: waiting for a worker, cloning and reading. After this the
# page stops asking and says why the preview could not be made.
PREVIEW_WAIT_SECONDS = 60
POLL_SECONDS = 2
# Previews kept per project; older ones are deleted when a new one is asked for.
KEEP_PREVIEWS = 5
# Versions assumed when the engine cannot be asked which base images it has.
FALLBACK_PYTHONS = ("3.9", "3.10", "3.11", "3.12", "3.13")


def preview_key(branch: str, app_root: str, overrides: Overrides) -> str:
    """One name for the settings a preview depends on: the same settings, the same key."""
    settings_now = {"branch": branch, "app_root": app_root, "overrides": asdict(overrides)}
    return hashlib.sha256(json.dumps(settings_now, sort_keys=True).encode()).hexdigest()


def _project_key(project: Project) -> str:
    overrides = project_services.detection_overrides(project)
    return preview_key(project.branch, project.app_root, overrides)


# In the web request ---------------------------------------------------------------------------


def request_preview(project: Project, now: datetime | None = None) -> tuple[DetectionPreview, bool]:
    """(The preview of the branch as the project is set now, whether it is new).

    A preview of the same settings still being made is returned instead of a second one;
    a new one must then be handed to the worker (builds.tasks.preview_detection) on commit.
    """
    now = now or timezone.now()
    key = _project_key(project)
    waiting = project.detection_previews.filter(
        key=key, state__in=(State.PENDING, State.RUNNING), deadline__gt=now
    ).first()
    if waiting is not None:
        return waiting, False
    preview = DetectionPreview.objects.create(
        project=project,
        key=key,
        branch=project.branch,
        requested_at=now,
        deadline=now + timedelta(seconds=PREVIEW_WAIT_SECONDS),
    )
    older = project.detection_previews.values_list("pk", flat=True)[KEEP_PREVIEWS:]
    DetectionPreview.objects.filter(pk__in=list(older)).delete()
    return preview, True


def unfinished_reason(preview: DetectionPreview, now: datetime) -> str:
    """Why a preview past its deadline was not made; "" while it may still come."""
    if preview.state not in (State.PENDING, State.RUNNING) or now < preview.deadline:
        return ""
    if preview.state == State.PENDING:
        return (
            f"The preview could not be made: no worker started it within "
            f"{PREVIEW_WAIT_SECONDS} s. Check that a Celery worker runs "
            "(celery -A deployer worker) and is not busy, then preview again."
        )
    return (
        f"The preview could not be made: the worker did not finish it within "
        f"{PREVIEW_WAIT_SECONDS} s. Preview again, or deploy to see the whole log."
    )


def detection_of(preview: DetectionPreview, now: datetime | None = None) -> selectors.Detection:
    """What the page shows of a preview: its plan, why it failed, or that it is being made."""
    detection = selectors.Detection(
        source="preview", commit=preview.commit_sha, preview_id=preview.pk
    )
    if preview.state in (State.READY, State.FAILED):
        detection.plan = Plan.from_dict(preview.plan) if preview.plan else None
        detection.dockerfile = preview.dockerfile
        detection.dockerfile_note = preview.dockerfile_note
        detection.generated_dockerfile = preview.generated_dockerfile
        detection.notes = list(preview.notes)
        detection.error = preview.error
        selectors.add_variables(detection, preview.project)
        return detection
    detection.error = unfinished_reason(preview, now or timezone.now())
    detection.waiting = not detection.error
    return detection


# In the worker --------------------------------------------------------------------------------


def run_preview(preview_id: int) -> str:
    """Claim a pending preview before its deadline, make it and store the result."""
    now = timezone.now()
    claimed = DetectionPreview.objects.filter(
        pk=preview_id, state=State.PENDING, deadline__gt=now
    ).update(state=State.RUNNING)
    if not claimed:
        return "not pending"
    preview = DetectionPreview.objects.select_related("project").get(pk=preview_id)
    left = (preview.deadline - now).total_seconds()
    timeout = max(1.0, min(PREVIEW_CLONE_TIMEOUT, settings.DEPLOYER_CLONE_TIMEOUT, left))
    try:
        detection = make_detection(preview.project, preview.branch, timeout=timeout)
    except Exception as exc:  # the page says so rather than waiting in vain
        logger.exception("detection preview %s failed", preview_id)
        detection = selectors.Detection(
            source="preview", error=f"The worker failed while making the preview: {exc}"
        )
    state = State.FAILED if detection.error else State.READY
    DetectionPreview.objects.filter(pk=preview_id, state=State.RUNNING).update(
        state=state,
        finished_at=timezone.now(),
        commit_sha=detection.commit,
        plan=detection.plan.to_dict() if detection.plan else None,
        dockerfile=detection.dockerfile,
        dockerfile_note=detection.dockerfile_note,
        generated_dockerfile=detection.generated_dockerfile,
        notes=detection.notes,
        error=detection.error,
    )
    return state


def make_detection(project: Project, branch: str, *, timeout: float) -> selectors.Detection:
    """Shallow-clone `branch` into a temporary folder, detect and generate the Dockerfile.

    Only reads files: no code of the repository runs. Each git command is bounded by
    `timeout`, the checkout by DEPLOYER_CLONE_MAX_MB, and the folder is removed before
    returning. A failure is the Detection's `error` (git's reason, credentials removed).
    """
    detection = selectors.Detection(source="preview")
    with tempfile.TemporaryDirectory(prefix=f"deployer-preview-{project.slug}-") as tmp:
        try:
            commit = clone.clone_commit(
                project.repo_url,
                branch,
                Path(tmp) / "src",
                log=lambda line: None,
                timeout=timeout,
                allow_file=settings.DEPLOYER_ALLOW_LOCAL_REPOS,
                credentials=project_services.git_credentials(project),
                max_bytes=project_services.clone_max_bytes(),
                mirror=mirrors.path_for(project),
            )
        except StageError as exc:
            detection.error = str(exc)
            return detection
        project_services.remember_known_hosts(project, commit.known_hosts)
        detection.commit = commit.sha
        try:
            root = tree.app_root(Path(tmp) / "src", project.app_root)
        except tree.RefusedPath as exc:
            detection.error = str(exc)
            return detection
        try:
            overrides = project_services.detection_overrides(project)
            pythons = _pythons(detection)
            detection.plan = detect.detect_plan(
                root,
                overrides,
                available_pythons=pythons,
                image_policy=image_policy(),
                repository_root=Path(tmp) / "src",
            )
            addon_services.warn_missing_variables(project, detection.plan)
        except detect.DetectionError as exc:
            detection.error = str(exc)
            return detection
        text, note = selectors.dockerfile_for(detection.plan, project, root)
        detection.dockerfile, detection.dockerfile_note = text, note
        if detection.plan.kind == "dockerfile":
            detection.generated_dockerfile = _generated_instead(
                project, root, Path(tmp) / "src", overrides, pythons
            )
    return detection


def _generated_instead(project, root: Path, checkout: Path, overrides, pythons) -> str:
    """The Dockerfile Deployer would generate if the project's builder said "generated"."""
    try:
        plan = detect.detect_plan(
            root,
            replace(
                overrides,
                builder="generated",
                framework="auto" if overrides.framework == "dockerfile" else overrides.framework,
            ),
            available_pythons=pythons,
            image_policy=image_policy(),
            repository_root=checkout,
        )
    except detect.DetectionError as exc:
        return f"# No Dockerfile can be generated for this repository: {exc}"
    return selectors.dockerfile_for(plan, project, root)[0]


def _pythons(detection: selectors.Detection) -> list[str]:
    try:
        with docker_seam.client(timeout=5) as client:
            return available_pythons(client)
    except Exception as exc:  # noqa: BLE001 - the preview still helps without the engine
        detection.notes.append(
            f"Which Python base images exist was not checked ({docker_seam.describe_error(exc)})."
        )
        return list(FALLBACK_PYTHONS)
