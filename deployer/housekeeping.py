"""Housekeeping: the disk never fills with what Deployer made and no longer needs.

Run by beat every DEPLOYER_HOUSEKEEPING_INTERVAL seconds (deployer/tasks.py). On the
engine, by this installation's labels only: each project's images beyond its rollback
window (failed and cancelled builds' too), dangling images of its builds, containers no
live deployment owns; never a volume (data) and never another installation's. In the
database, by retention settings: log lines of all but each project's newest
DEPLOYER_KEEP_BUILD_LOGS builds, and deliveries, health checks and notification
deliveries older than DEPLOYER_RETENTION_DAYS; app metrics older than DEPLOYER_METRICS_RAW_HOURS
are folded into 5-minute samples, deleted after DEPLOYER_METRICS_KEEP_DAYS. It records what each project's images take
on the disk, for the dashboard (the web process need not reach the engine), removes the git
mirrors of this worker host that no project uses any more (builds/mirrors.py), and asks
again for deletions whose task was lost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

from builds import docker as docker_seam
from builds import mirrors
from builds import services as build_services
from builds import tasks as build_tasks
from builds.docker import LABEL_INSTALLATION, LABEL_PROJECT
from builds.installation import installation_id
from builds.models import Build, BuildLogLine
from builds.pipeline import cleanup
from monitoring import metrics
from monitoring.models import HealthCheck, NotificationDelivery
from projects.models import AuditEntry, Project
from webhooks.models import Delivery

logger = logging.getLogger(__name__)
DELETE_BATCH = 5000


@dataclass
class Report:
    removed_images: list[str] = field(default_factory=list)
    removed_containers: list[str] = field(default_factory=list)
    dangling_bytes: int = 0
    deleted_rows: dict[str, int] = field(default_factory=dict)
    removed_mirrors: list[str] = field(default_factory=list)


def run(client) -> Report:
    """One round of housekeeping on the engine and the database."""
    report = Report()
    ours = installation_id()
    for project in Project.objects.all():
        report.removed_images += cleanup.prune_project_images(
            client,
            project.slug,
            keep_build_ids=build_services.images_to_keep(project),
            installation=ours,
        )
    # A running build's newest step is a dangling image until its next step builds on it:
    # pruned then, the build fails. Dangling images wait for a round with no build running.
    if not Build.objects.filter(state__in=Build.RUNNING_STATES).exists():
        pruned = client.images.prune(
            filters={"dangling": True, "label": f"{LABEL_INSTALLATION}={ours}"}
        )
        report.dangling_bytes = pruned.get("SpaceReclaimed") or 0
    report.removed_containers = build_services.reconcile_with_engine()["removed_containers"]
    record_image_sizes(client)
    report.deleted_rows = delete_old_rows()
    report.removed_mirrors = mirrors.prune(
        dict(Project.objects.values_list("pk", "repo_url")),
        max_age_days=settings.DEPLOYER_GIT_MIRROR_MAX_DAYS,
    )
    resume_deletions()
    return report


def resume_deletions(after_seconds: float = 600) -> list[int]:
    """Ask again for the deletion of projects still "deleting" after `after_seconds` (its
    task message was lost); the deletion itself retries while the engine is unreachable."""
    cutoff = timezone.now() - timezone.timedelta(seconds=after_seconds)
    stuck = list(Project.objects.filter(deleting_at__lt=cutoff).values_list("pk", flat=True))
    for project_id in stuck:
        build_tasks.delete_project.delay(project_id)
    return stuck


def record_image_sizes(client) -> dict[str, int]:
    """Store the bytes each project's images take (each image's own size; layers they share
    with the base image are not counted twice across images of one project's builds)."""
    sizes: dict[str, int] = {}
    ours = installation_id()
    for image in client.images.list(filters={"label": f"{LABEL_INSTALLATION}={ours}"}):
        slug = image.labels.get(LABEL_PROJECT)
        if slug:
            sizes[slug] = sizes.get(slug, 0) + int(image.attrs.get("Size") or 0)
    now = timezone.now()
    for project in Project.objects.all():
        Project.objects.filter(pk=project.pk).update(
            images_bytes=sizes.get(project.slug, 0), images_measured_at=now
        )
    return sizes


def delete_old_rows() -> dict[str, int]:
    """Delete rows past the retention settings, in batches; returns how many of each."""
    cutoff = timezone.now() - timezone.timedelta(days=settings.DEPLOYER_RETENTION_DAYS)
    deleted = {
        "deliveries": _in_batches(Delivery.objects.filter(received_at__lt=cutoff)),
        "health checks": _in_batches(HealthCheck.objects.filter(checked_at__lt=cutoff)),
        "notification deliveries": _in_batches(
            NotificationDelivery.objects.filter(created_at__lt=cutoff)
        ),
        "audit entries": _in_batches(
            AuditEntry.objects.filter(
                created_at__lt=timezone.now()
                - timezone.timedelta(days=settings.DEPLOYER_AUDIT_RETENTION_DAYS)
            )
        ),
        "metric samples folded": metrics.downsample(),
        "metric samples": _in_batches(metrics.prune_filter()),
        "log lines": 0,
    }
    for project in Project.objects.all():
        newest = project.builds.order_by("-pk").values_list("pk", flat=True)[
            : settings.DEPLOYER_KEEP_BUILD_LOGS
        ]
        old = Build.objects.filter(project=project).exclude(pk__in=list(newest))
        old = old.exclude(state__in=Build.ACTIVE_STATES).filter(log_lines__isnull=False)
        for build_id in old.values_list("pk", flat=True).distinct():
            deleted["log lines"] += _in_batches(BuildLogLine.objects.filter(build_id=build_id))
            Build.objects.filter(pk=build_id).update(log_pruned=True)
    return deleted


def _in_batches(queryset) -> int:
    total = 0
    while True:
        ids = list(queryset.values_list("pk", flat=True)[:DELETE_BATCH])
        if not ids:
            return total
        total += queryset.model.objects.filter(pk__in=ids).delete()[0]


def run_with_engine() -> Report | None:
    try:
        with docker_seam.client() as client:
            return run(client)
    except docker_seam.DockerUnavailable as exc:
        logger.warning("Housekeeping skipped the engine: %s", exc)
        delete_old_rows()
        return None
