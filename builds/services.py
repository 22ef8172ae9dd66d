"""Writes that the builds app makes: called from views, webhooks, the admin, commands and tasks."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from builds import docker as docker_seam
from builds.installation import installation_id
from builds.models import Build, Deployment, WorkerHeartbeat
from builds.pipeline import cleanup, run, volume
from builds.pipeline.plan import Plan
from deployer.celery import task
from projects import audit
from projects.models import Project

logger = logging.getLogger(__name__)


class BuildRequestError(Exception):
    """A build cannot be requested as asked (e.g. rolling back to a build that never went live)."""


def request_build(
    project,
    *,
    trigger: str = Build.Trigger.MANUAL,
    ref: str = "",
    commit_sha: str = "",
    triggered_by=None,
    detail: str = "",
    actor=None,
) -> Build:
    """Queue a build of `ref` (default: the project's branch) or of an exact `commit_sha`.

    The audit log names `actor` when given (an API token's label), else `triggered_by`.

    Older builds of the project that are still queued are superseded: only the newest
    request matters. The Celery task is sent once the transaction commits. Raises
    BuildRequestError for a project that is being deleted.
    """
    _refuse_deleting(project)
    with transaction.atomic():
        _supersede_queued(project)
        build = Build.objects.create(
            project=project,
            trigger=trigger,
            ref=ref or commit_sha or project.branch,
            commit_sha=commit_sha,
            triggered_by=triggered_by,
            trigger_detail=detail[:200],
        )
        audit.record(
            project,
            audit.Action.DEPLOY,
            actor=actor or triggered_by or _trigger_label(trigger, detail),
            summary=f"build #{build.pk} of {commit_sha[:12] or build.ref}",
        )
        _dispatch_on_commit(build)
    return build


def _trigger_label(trigger: str, detail: str) -> str | None:
    """What acted when no user did: a webhook's delivery, a command; None for Deployer itself."""
    if trigger == Build.Trigger.MANUAL and not detail:
        return None
    return f"{Build.Trigger(trigger).label.lower()}{': ' + detail if detail else ''}"


def request_rollback(project, target: Build, *, triggered_by=None, actor=None) -> Build:
    """Queue a redeploy of `target`'s image, without building. Raises BuildRequestError."""
    _refuse_deleting(project)
    if target.project_id != project.pk:
        raise BuildRequestError("That build belongs to another project.")
    if not target.image_id or target.deployments.filter(live_at__isnull=False).count() == 0:
        raise BuildRequestError(
            f"Build #{target.pk} never went live, so there is nothing to roll back to."
        )
    with transaction.atomic():
        _supersede_queued(project)
        build = Build.objects.create(
            project=project,
            trigger=Build.Trigger.ROLLBACK,
            ref=target.commit_sha,
            commit_sha=target.commit_sha,
            commit_message=target.commit_message,
            commit_author=target.commit_author,
            rollback_of=target,
            plan=target.plan,
            image_tag=target.image_tag,
            image_id=target.image_id,
            image_size=target.image_size,
            triggered_by=triggered_by,
            trigger_detail=f"rollback to build #{target.pk}",
        )
        audit.record(
            project,
            audit.Action.ROLLBACK,
            actor=actor or triggered_by,
            summary=f"build #{build.pk} to the image of build #{target.pk}",
        )
        _dispatch_on_commit(build)
    return build


def _refuse_deleting(project) -> None:
    if project.deleting_at is not None:
        raise BuildRequestError(f"The project {project.slug} is being deleted: nothing deploys.")


def cancel_build(build: Build, *, reason: str = "Cancelled by a user.", actor=None) -> bool:
    """Cancel a queued build at once, or ask a running one to stop. False when it had already ended.

    A running build's worker sees the request within a second or two, aborts the Docker
    build stream or the health check, and removes the containers it started. The audit log
    names an `actor` who asked (Deployer's own cancels, e.g. of a deleted project's builds,
    are recorded by what caused them).
    """
    now = timezone.now()
    with transaction.atomic():
        cancelled = Build.objects.filter(pk=build.pk, state=Build.State.QUEUED).update(
            state=Build.State.CANCELLED,
            finished_at=now,
            failure_reason=reason,
            cancel_requested=True,
            log_complete=True,
        ) or Build.objects.filter(pk=build.pk, state__in=Build.RUNNING_STATES).update(
            cancel_requested=True
        )
        if cancelled and actor is not None:
            audit.record(
                build.project, audit.Action.CANCEL, actor=actor, summary=f"build #{build.pk}"
            )
    return bool(cancelled)


def images_to_keep(project) -> list[int]:
    """The builds whose images stay: the last DEPLOYER_KEEP_IMAGES that went live (the
    rollback window) and any running now (the next build may be building or starting while
    another prunes, and removing its fresh image would fail it)."""
    live = (
        Build.objects.filter(project=project, deployments__live_at__isnull=False)
        .order_by("-pk")
        .values_list("pk", flat=True)
        .distinct()[: settings.DEPLOYER_KEEP_IMAGES]
    )
    running = Build.objects.filter(project=project, state__in=Build.RUNNING_STATES)
    return [*live, *running.values_list("pk", flat=True)]


def live_deployment(project) -> Deployment | None:
    """The project's live deployment: its primary web replica when it runs several."""
    return (
        project.deployments.filter(state=Deployment.State.LIVE)
        .select_related("build")
        .order_by("replica")
        .first()
    )


def _supersede_queued(project) -> None:
    Build.objects.filter(project=project, state=Build.State.QUEUED).update(
        state=Build.State.SUPERSEDED,
        finished_at=timezone.now(),
        failure_reason="A newer build of this project was requested.",
        log_complete=True,
    )


def _dispatch_on_commit(build: Build) -> None:
    transaction.on_commit(lambda: dispatch(build.pk))


def dispatch(build_id: int) -> bool:
    """Send the build's task message and note when. A broker that is down is not an error:
    the build stays queued and the sweeper sends it again once the broker is back."""
    Build.objects.filter(pk=build_id, state=Build.State.QUEUED).update(dispatched_at=timezone.now())
    try:
        task("builds.tasks.run_build").delay(build_id)
    except Exception:  # noqa: BLE001 - kombu raises many kinds; the row is the outbox
        logger.warning("The task of build #%s could not be sent; the sweeper retries it.", build_id)
        return False
    return True


def dispatch_stranded_builds(stale_seconds: float) -> list[int]:
    """Send again the task of every queued build whose message no worker has seen for
    `stale_seconds` (lost with a broker restart, or never sent); returns their ids."""
    cutoff = timezone.now() - timezone.timedelta(seconds=stale_seconds)
    stranded = list(
        Build.objects.filter(state=Build.State.QUEUED, created_at__lt=cutoff)
        .filter(Q(dispatched_at__lt=cutoff) | Q(dispatched_at__isnull=True))
        .values_list("pk", flat=True)
    )
    for build_id in stranded:
        dispatch(build_id)
    return stranded


def touch_queued(build_id: int) -> None:
    """A worker holds the build's message (it may wait for its project): not stranded."""
    Build.objects.filter(pk=build_id, state=Build.State.QUEUED).update(dispatched_at=timezone.now())


def record_worker_heartbeat(hostname: str) -> WorkerHeartbeat:
    """Ask the Docker engine for its version and store what this worker saw."""
    version, error = "", ""
    try:
        with docker_seam.client(timeout=5) as client:
            version = client.version()["Version"]
    except Exception as exc:  # noqa: BLE001 - an unreachable engine is the recorded result
        error = docker_seam.describe_error(exc)
    heartbeat, _ = WorkerHeartbeat.objects.update_or_create(
        hostname=hostname,
        defaults={"docker_version": version, "docker_error": error, "seen_at": timezone.now()},
    )
    return heartbeat


def measure_live_memory(build_id: int) -> int | None:
    """Store the memory use of the build's container while it is still the live one."""
    deployment = Deployment.objects.filter(
        build_id=build_id, state=Deployment.State.LIVE, replica=0
    ).first()
    if deployment is None:
        return None
    with docker_seam.client() as client:
        usage = run.memory_usage(client, deployment.container_id)
    if usage is not None:
        Build.objects.filter(pk=build_id).update(memory_usage_bytes=usage)
    return usage


def reap_lost_builds(timeout_seconds: float) -> list[Build]:
    """Fail running builds whose worker stopped sending heartbeats; remove their containers."""
    cutoff = timezone.now() - timezone.timedelta(seconds=timeout_seconds)
    lost = list(
        Build.objects.select_related("project").filter(
            state__in=Build.RUNNING_STATES, heartbeat_at__lt=cutoff
        )
    )
    reaped = []
    for build in lost:
        reason = (
            f"The worker running this build ({build.worker or 'unknown'}) was lost: "
            f"no heartbeat for over {timeout_seconds:.0f} s. Deploy again."
        )
        updated = Build.objects.filter(
            pk=build.pk, state=build.state, heartbeat_at__lt=cutoff
        ).update(
            state=Build.State.FAILED,
            failure_stage=build.state,
            failure_reason=reason,
            finished_at=timezone.now(),
            log_complete=True,
        )
        if updated:
            reaped.append(build)
            _remove_build_containers(build)
            Deployment.objects.filter(build=build, state=Deployment.State.STARTING).update(
                state=Deployment.State.FAILED, stopped_at=timezone.now(), stop_reason=reason
            )
    return reaped


def reconcile_with_engine() -> dict:
    """Make the database and the engine agree, as a worker starts.

    Containers of this database's projects that no live deployment or running build owns
    are removed (another installation's containers on the same engine are left alone);
    live deployments whose container is gone are marked stopped with the reason.
    """
    known_projects = set(Project.objects.values_list("slug", flat=True))
    live = Deployment.objects.filter(state=Deployment.State.LIVE)
    running_builds = set(
        Build.objects.filter(state__in=Build.RUNNING_STATES).values_list("pk", flat=True)
    )
    # A live build's other containers (its worker processes, a cron run) are its own too.
    serving_builds = {d.build_id for d in live} | retiring_build_ids()
    with docker_seam.client() as client:
        present = {
            c.id: c for c in docker_seam.containers(client, f"{docker_seam.LABEL_MANAGED}=1")
        }
        keep = (
            {d.container_id for d in live}
            | retiring_container_ids()
            | {
                cid
                for cid, c in present.items()
                if c.labels.get(docker_seam.LABEL_PROJECT) not in known_projects
                or (
                    c.labels.get(docker_seam.LABEL_BUILD, "").isdigit()
                    and int(c.labels[docker_seam.LABEL_BUILD]) in running_builds
                )
                or (
                    c.labels.get(docker_seam.LABEL_ROLE) in BESIDE_WEB_ROLES
                    and c.labels.get(docker_seam.LABEL_BUILD, "").isdigit()
                    and int(c.labels[docker_seam.LABEL_BUILD]) in serving_builds
                )
            }
        )
        removed = cleanup.remove_leftover_containers(
            client, keep_ids=keep, installation=installation_id()
        )
    missing = [d for d in live if d.container_id not in present]
    for deployment in missing:
        Deployment.objects.filter(pk=deployment.pk).update(
            state=Deployment.State.STOPPED,
            stopped_at=timezone.now(),
            stop_reason="Its container no longer exists in the Docker engine.",
        )
    return {"removed_containers": removed, "missing_deployments": [d.pk for d in missing]}


def _remove_build_containers(build: Build) -> None:
    try:
        with docker_seam.client() as client:
            for container in docker_seam.containers(
                client, f"{docker_seam.LABEL_BUILD}={build.pk}"
            ):
                if container.labels.get(
                    docker_seam.LABEL_PROJECT
                ) == build.project.slug and docker_seam.belongs(
                    container.labels, installation_id()
                ):
                    container.remove(v=True, force=True)
    except Exception:  # noqa: BLE001, S110 - the engine may be the thing that was lost
        pass


# After live: tasks the build's switch sends (builds.tasks.after_live) ---------------------------


def retire(build_id: int, deployment_ids: list[int]) -> list[str]:
    """Stop and remove the containers of the deployments a build's switch superseded (each
    with DEPLOYER_STOP_GRACE to finish its requests), then prune the project's images that
    are no longer kept; returns the names of the containers removed.

    Sent after the route drain. A deployment that is live is never touched.
    """
    build = Build.objects.select_related("project").filter(pk=build_id).first()
    if build is None:
        return []
    retiring = Deployment.objects.filter(pk__in=deployment_ids).exclude(state=Deployment.State.LIVE)
    removed = []
    with docker_seam.client() as client:
        for deployment in retiring:
            run.remove_container(
                client, deployment.container_id, grace=settings.DEPLOYER_STOP_GRACE
            )
            removed.append(deployment.container_name)
        cleanup.prune_project_images(
            client,
            build.project.slug,
            keep_build_ids=[*images_to_keep(build.project), build.pk],
            installation=installation_id(),
            log=logger.info,
        )
    return removed


def retiring_container_ids() -> set[str]:
    """Containers of superseded deployments that their retire task may still be draining:
    reconciling with the engine leaves them to it."""
    window = settings.DEPLOYER_ROUTE_DRAIN_SECONDS + settings.DEPLOYER_STOP_GRACE + RETIRE_SLACK
    since = timezone.now() - timezone.timedelta(seconds=window)
    return set(
        Deployment.objects.filter(
            state=Deployment.State.SUPERSEDED, stopped_at__gte=since
        ).values_list("container_id", flat=True)
    )


def retiring_build_ids() -> set[int]:
    """Builds superseded within the retire window: their processes are being replaced."""
    window = settings.DEPLOYER_ROUTE_DRAIN_SECONDS + settings.DEPLOYER_STOP_GRACE + RETIRE_SLACK
    since = timezone.now() - timezone.timedelta(seconds=window)
    return set(
        Deployment.objects.filter(
            state=Deployment.State.SUPERSEDED, stopped_at__gte=since
        ).values_list("build_id", flat=True)
    )


# The roles of a build's containers beside its web one (processes/): a process type's, a cron run's.
BESIDE_WEB_ROLES = ("process", "cron")

# How long after its switch a superseded container is left to its retire task, beyond the
# drain and the grace: the task may wait in the queue behind other work.
RETIRE_SLACK = 300


def measure_live_data(build_id: int) -> int | None:
    """Record how big the project's kept SQLite databases are, as its live container sees them."""
    deployment = (
        Deployment.objects.select_related("build")
        .filter(build_id=build_id, state=Deployment.State.LIVE)
        .first()
    )
    if deployment is None:
        return None
    databases = Plan.from_dict(deployment.build.plan or {}).sqlite_databases
    if not databases:
        return None
    with docker_seam.client() as client:
        size = volume.database_sizes(client, deployment.container_id, databases)
    Project.objects.filter(pk=deployment.project_id).update(
        data_bytes=size, data_measured_at=timezone.now()
    )
    return size
