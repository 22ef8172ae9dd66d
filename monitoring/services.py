"""Runtime monitoring: check the live apps, record what changed, stop crash loops, notify.

`check_all()` is what the periodic task calls. Each app's observation (Docker and HTTP, on
threads) is turned into a state by `monitoring.checks`; here it is compared with the stored
state, and only a change is written as an event.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from builds import docker as docker_seam
from builds.buildlog import Redactor
from builds.models import Deployment
from builds.pipeline.plan import built_health_path
from monitoring import alerts, checks, observe
from monitoring.models import (
    AppHealth,
    HealthCheck,
    HealthEvent,
    HealthState,
    Monitor,
    NotificationDelivery,
)
from projects import crypto
from projects import services as project_services

logger = logging.getLogger(__name__)

State = HealthState
Kind = HealthEvent.Kind
Delivery = NotificationDelivery

MONITOR_PK = 1
# A run's claim older than this belonged to a worker that died mid-run.
CLAIM_STALE_SECONDS = 300
EVENT_RETENTION_DAYS = 90
DELIVERY_RETENTION_DAYS = 30
MAX_RECIPIENTS = 20
CRASH_STATES = (State.CRASHED, State.OOM_KILLED)


@dataclass
class RunSummary:
    checked: int = 0
    busy: bool = False
    engine_error: str = ""
    changes: dict[str, str] = field(default_factory=dict)  # project slug -> new state


# Checking -------------------------------------------------------------------------------------


def check_all() -> RunSummary:
    """Check every live app once, unless another run is in progress.

    While the Docker engine cannot be reached nothing about the apps is known: that is
    recorded once as an engine event and no app's state changes.
    """
    started = time.monotonic()
    if not _claim_run():
        return RunSummary(busy=True)
    try:
        return _run()
    finally:
        Monitor.objects.filter(pk=MONITOR_PK).update(
            running_since=None,
            last_run_at=timezone.now(),
            last_run_seconds=round(time.monotonic() - started, 3),
        )


def _run() -> RunSummary:
    summary = RunSummary()
    for project_slug in mark_stopped_apps():
        summary.changes[project_slug] = State.STOPPED
    error = observe.engine_error(timeout=settings.DEPLOYER_MONITOR_TIMEOUT)
    record_engine(error)
    if error:
        summary.engine_error = error
        return summary
    # The primary web replica of each live build: a project's health follows one container.
    live = list(
        Deployment.objects.filter(state=Deployment.State.LIVE, replica=0).select_related(
            "project", "build"
        )
    )
    healths = {deployment.pk: health_of(deployment) for deployment in live}
    to_observe = []
    for deployment in live:
        if healths[deployment.pk].restarts_stopped_at:
            record_held_crash(healths[deployment.pk], deployment)
        else:
            to_observe.append(deployment)
    targets = [target_of(deployment, healths[deployment.pk]) for deployment in to_observe]
    observations = observe.observe_all(
        targets,
        timeout=settings.DEPLOYER_MONITOR_TIMEOUT,
        workers=settings.DEPLOYER_MONITOR_CONCURRENCY,
    )
    for deployment, observation in zip(to_observe, observations, strict=True):
        health = healths[deployment.pk]
        previous = health.state
        record_observation(health, deployment, observation)
        if health.state != previous:
            summary.changes[deployment.project.slug] = health.state
    summary.checked = len(live)
    return summary


def _claim_run() -> bool:
    """A conditional UPDATE of the one Monitor row: two overlapping runs never both proceed."""
    now = timezone.now()
    Monitor.objects.get_or_create(pk=MONITOR_PK)
    stale = now - timedelta(seconds=CLAIM_STALE_SECONDS)
    return bool(
        Monitor.objects.filter(pk=MONITOR_PK)
        .filter(Q(running_since__isnull=True) | Q(running_since__lt=stale))
        .update(running_since=now)
    )


def health_of(deployment: Deployment) -> AppHealth:
    """The project's health row, following `deployment` (a new deploy starts a fresh count)."""
    health, _ = AppHealth.objects.get_or_create(
        project=deployment.project, defaults={"deployment": deployment}
    )
    if health.deployment_id != deployment.pk:
        health.deployment = deployment
        health.restart_count = 0
        health.failures = 0
        health.restarts_stopped_at = None
        health.save(
            update_fields=["deployment", "restart_count", "failures", "restarts_stopped_at"]
        )
    return health


def target_of(deployment: Deployment, health: AppHealth) -> observe.Target:
    project = deployment.project
    plan = deployment.build.plan or {}
    return observe.Target(
        deployment_id=deployment.pk,
        container_id=deployment.container_id,
        host_port=deployment.host_port,
        path=built_health_path(project.health_check_path, plan),
        host=project.app_host,
        known_restarts=health.restart_count,
        container_port=project.container_port,
    )


def record_observation(
    health: AppHealth,
    deployment: Deployment,
    observation: observe.Observation,
    now: datetime | None = None,
) -> None:
    """Turn one observation into a sample, and into events when something changed."""
    now = now or timezone.now()
    project = deployment.project
    if observation.engine_error:
        logger.warning("No health for %s: %s", project.slug, observation.engine_error)
        return
    if not Deployment.objects.filter(pk=deployment.pk, state=Deployment.State.LIVE).exists():
        return  # replaced or stopped while it was being checked
    container = observation.container
    if observation.timed_out or container is None:
        verdict = checks.Verdict(
            State.UNHEALTHY,
            f"The check did not finish within {settings.DEPLOYER_MONITOR_TIMEOUT:.0f} s: "
            "the app (or the Docker engine) hangs.",
        )
    else:
        verdict = checks.classify(
            container,
            observation.probe,
            path=observation.target.path,
            memory_mb=project.memory_limit_mb,
            known_restarts=health.restart_count,
            slow_ms=settings.DEPLOYER_MONITOR_SLOW_MS,
        )
    if observation.probe and observation.probe.detail and not verdict.ok:
        # The detail is the app's own reason phrase ("503 <anything>"): its secrets go first.
        verdict = checks.Verdict(verdict.state, _redact_reason(project, verdict))
    logs = redact_logs(project, observation.logs)
    if container is not None and container.restart_count > health.restart_count:
        verdict = _note_restarts(health, deployment, container, verdict, logs, now)
    settled = checks.settle(
        health.state,
        health.failures,
        verdict,
        unhealthy_after=settings.DEPLOYER_MONITOR_UNHEALTHY_AFTER,
    )
    probe = observation.probe
    with transaction.atomic():
        HealthCheck.objects.create(
            project=project,
            deployment=deployment,
            checked_at=now,
            state=settled.state,
            ok=verdict.ok,
            status_code=probe.status if probe else None,
            latency_ms=probe.latency_ms if probe and probe.status is not None else None,
        )
        health.failures = health.failures + 1 if verdict.state == State.UNHEALTHY else 0
        health.status_code = probe.status if probe else None
        health.latency_ms = probe.latency_ms if probe else None
        exit_code = container.exit_code if container and container.status != "running" else None
        set_state(health, settled, now, logs=logs, exit_code=exit_code)


def _note_restarts(
    health: AppHealth,
    deployment: Deployment,
    container: checks.ContainerState,
    verdict: checks.Verdict,
    logs: str,
    now: datetime,
) -> checks.Verdict:
    """Record Docker's restarts since the last check; past the limit, stop the crash loop."""
    new = container.restart_count - health.restart_count
    HealthEvent.objects.create(
        project=deployment.project,
        deployment=deployment,
        created_at=now,
        kind=Kind.RESTARTED,
        state=verdict.state,
        reason=verdict.reason,
        restarts=new,
        exit_code=container.exit_code if container.status != "running" else None,
        logs=logs,
    )
    health.restart_count = container.restart_count
    health.save(update_fields=["restart_count"])
    window = settings.DEPLOYER_CRASH_WINDOW
    recent = restarts_since(deployment, now - timedelta(seconds=window))
    if recent < settings.DEPLOYER_CRASH_RESTARTS:
        return verdict
    return stop_restarting(health, deployment, verdict, recent, logs, now)


def restarts_since(deployment: Deployment, since: datetime) -> int:
    total = HealthEvent.objects.filter(
        deployment=deployment, kind=Kind.RESTARTED, created_at__gte=since
    ).aggregate(total=Sum("restarts"))["total"]
    return total or 0


def stop_restarting(
    health: AppHealth,
    deployment: Deployment,
    verdict: checks.Verdict,
    restarts: int,
    logs: str,
    now: datetime,
) -> checks.Verdict:
    """Turn the container's restart policy off and stop it: a crash loop only burns the host.

    When the engine refuses, the crash is still reported, and the next check tries again.
    """
    try:
        with docker_seam.client(timeout=max(5, round(settings.DEPLOYER_MONITOR_TIMEOUT))) as client:
            container = client.containers.get(deployment.container_id)
            container.update(restart_policy={"Name": "no"})
            container.stop(timeout=settings.DEPLOYER_STOP_GRACE)
    except Exception as exc:  # noqa: BLE001 - the loop goes on; the state says so
        logger.error("Could not stop the crash loop of %s: %s", deployment, exc)
        return verdict
    minutes = settings.DEPLOYER_CRASH_WINDOW / 60
    state = verdict.state if verdict.state in CRASH_STATES else State.CRASHED
    reason = (
        f"{verdict.reason} It was restarted {restarts} times within {minutes:g} minutes, so "
        "Deployer stopped restarting it. Fix the cause shown in its last lines and deploy again."
    )
    HealthEvent.objects.create(
        project=deployment.project,
        deployment=deployment,
        created_at=now,
        kind=Kind.RESTARTS_STOPPED,
        state=state,
        reason=reason,
        restarts=restarts,
        logs=logs,
    )
    health.restarts_stopped_at = now
    health.save(update_fields=["restarts_stopped_at"])
    return checks.Verdict(state, reason)


def record_held_crash(health: AppHealth, deployment: Deployment) -> None:
    """An app whose crash loop Deployer stopped stays crashed (and down) until the next deploy."""
    now = timezone.now()
    HealthCheck.objects.create(
        project=deployment.project,
        deployment=deployment,
        checked_at=now,
        state=health.state,
        ok=False,
    )
    AppHealth.objects.filter(pk=health.pk).update(checked_at=now)


def set_state(
    health: AppHealth,
    verdict: checks.Verdict,
    now: datetime,
    *,
    logs: str = "",
    exit_code: int | None = None,
) -> HealthEvent | None:
    """Store the current state; a different one becomes an event (and maybe notifications)."""
    previous = health.state
    health.reason = verdict.reason
    health.checked_at = now
    event = None
    if verdict.state != previous:
        health.state, health.since = verdict.state, now
        event = HealthEvent.objects.create(
            project=health.project,
            deployment=health.deployment,
            created_at=now,
            kind=Kind.STATE,
            state=verdict.state,
            previous_state=previous,
            reason=verdict.reason,
            exit_code=exit_code,
            logs=logs if verdict.state in CRASH_STATES else "",
        )
    health.save()
    if event and checks.notifies(previous, verdict.state):
        alerts.notify_project(
            health.project, alerts.health_message(health.project, event), event=event
        )
    return event


def mark_stopped_apps() -> list[str]:
    """Apps with no live deployment any more were stopped on purpose: say so, once."""
    now = timezone.now()
    changed = []
    stale = (
        AppHealth.objects.exclude(state=State.STOPPED)
        .exclude(project__deployments__state=Deployment.State.LIVE)
        .select_related("project", "deployment")
    )
    for health in stale:
        reason = "No deployment is live."
        if health.deployment and health.deployment.stop_reason:
            reason = f"No deployment is live: {health.deployment.stop_reason}"
        set_state(health, checks.Verdict(State.STOPPED, reason), now)
        changed.append(health.project.slug)
    return changed


def record_engine(error: str) -> None:
    """Note the engine becoming unreachable or reachable again: one event per change."""
    now = timezone.now()
    monitor, _ = Monitor.objects.get_or_create(pk=MONITOR_PK)
    reachable = not error
    if reachable == monitor.engine_reachable:
        if error and error != monitor.engine_error:
            Monitor.objects.filter(pk=MONITOR_PK).update(engine_error=error)
        return
    HealthEvent.objects.create(
        project=None,
        created_at=now,
        kind=Kind.ENGINE_REACHABLE if reachable else Kind.ENGINE_UNREACHABLE,
        reason=error or "The Docker engine answers again.",
    )
    Monitor.objects.filter(pk=MONITOR_PK).update(
        engine_reachable=reachable, engine_error=error, engine_since=now
    )
    if error:
        logger.error("Docker engine unreachable: %s. App states are kept as last seen.", error)


def _redact_reason(project, verdict: checks.Verdict) -> str:
    try:
        return Redactor(project_services.secret_values(project))(verdict.reason)
    except crypto.InvalidToken:
        return "The app answers its health check with an error (the details are not shown: its secrets cannot be decrypted to hide them)."


def redact_logs(project, lines: list[str]) -> str:
    """The app's last lines with the project's secret values hidden."""
    if not lines:
        return ""
    try:
        redact = Redactor(project_services.secret_values(project))
    except crypto.InvalidToken:
        return "(The app's last lines are not kept: its secrets cannot be decrypted to hide them.)"
    return "\n".join(redact.lines(lines))


def prune_history(now: datetime | None = None) -> dict[str, int]:
    """Delete samples, events and deliveries older than their retention."""
    now = now or timezone.now()
    samples, _ = HealthCheck.objects.filter(
        checked_at__lt=now - timedelta(days=settings.DEPLOYER_MONITOR_RETENTION_DAYS)
    ).delete()
    events, _ = HealthEvent.objects.filter(
        created_at__lt=now - timedelta(days=EVENT_RETENTION_DAYS)
    ).delete()
    deliveries, _ = Delivery.objects.filter(
        created_at__lt=now - timedelta(days=DELIVERY_RETENTION_DAYS)
    ).delete()
    return {"samples": samples, "events": events, "deliveries": deliveries}
