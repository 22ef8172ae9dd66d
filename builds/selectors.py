"""What the dashboard reads: a project's state, its current deployment, a build's progress.

Plain functions over the models; no writes. The views and the admin share them so a project's state is worded the same everywhere.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db.models import Exists, F, OuterRef, Subquery, Window, prefetch_related_objects
from django.db.models.functions import RowNumber
from django.utils import timezone

from addons import services as addon_services
from builds.models import Build, Deployment
from builds.pipeline import dockerfile
from builds.pipeline.detection import tree
from builds.pipeline.detection import variables as settings_variables
from builds.pipeline.detection.sqlite import volume_links
from builds.pipeline.plan import Plan, built_health_path
from monitoring import selectors as monitoring
from projects.models import Project
from routing import services as routing

State = Build.State

# The runner marks a build's log complete after its last write. A worker lost before that
# point cannot: followers then stop this long after the build finished.
LOG_SETTLE_SECONDS = 15
PREVIEW_MAX_DOCKERFILE_CHARS = 20_000
HISTORY_LENGTH = 20


# Project state --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectStatus:
    """A project's state as the dashboard names it; `tone` is a CSS class, never the only cue."""

    code: str
    label: str
    tone: str
    detail: str = ""


LIVE, BUILDING, FAILED, UNHEALTHY, CRASHED, STOPPED, NOT_DEPLOYED, DELETING = (
    "live",
    "building",
    "failed",
    "unhealthy",
    "crashed",
    "stopped",
    "not_deployed",
    "deleting",
)
LABELS = {
    LIVE: ("Live", "ok"),
    BUILDING: ("Building", "info"),
    FAILED: ("Failed", "bad"),
    UNHEALTHY: ("Unhealthy", "warn"),
    CRASHED: ("Crashed", "bad"),
    STOPPED: ("Stopped", "muted"),
    NOT_DEPLOYED: ("Not deployed yet", "muted"),
    DELETING: ("Deleting", "warn"),
}


def _status(code: str, detail: str = "") -> ProjectStatus:
    label, tone = LABELS[code]
    return ProjectStatus(code, label, tone, detail)


def project_status(
    latest_build: Build | None,
    live: Deployment | None,
    *,
    ever_live: bool = False,
    health: str = "",
) -> ProjectStatus:
    """The one state a project shows, from its newest build and its live deployment.

    `health` is what runtime monitoring says of the live container ("unhealthy" or
    "crashed", monitoring.selectors.Health.problem; empty when fine or unknown) and takes
    precedence over "live".
    `ever_live` tells a project whose app was stopped from one never deployed.
    """
    if latest_build is not None and latest_build.is_active:
        serving = f"; build #{live.build_id} keeps serving" if live else ""
        return _status(
            BUILDING, f"Build #{latest_build.pk}: {latest_build.get_state_display()}{serving}"
        )
    if live is not None:
        if health in (UNHEALTHY, CRASHED):
            return _status(health, f"Build #{live.build_id}")
        if latest_build is not None and latest_build.state == State.FAILED:
            return _status(
                LIVE, f"Build #{live.build_id} serves; the newer build #{latest_build.pk} failed"
            )
        return _status(LIVE, f"Build #{live.build_id}")
    if latest_build is not None and latest_build.state == State.FAILED:
        return _status(FAILED, f"Build #{latest_build.pk} failed: {latest_build.failure_reason}")
    if ever_live:
        return _status(STOPPED, "No container is running. Deploy to start it again.")
    return _status(NOT_DEPLOYED, "Deploy to build and start it.")


@dataclass
class ProjectRow:
    """One project with what the overview and the project page show of its deployment."""

    project: object
    status: ProjectStatus
    latest_build: Build | None
    live: Deployment | None
    health: monitoring.Health | None = None
    # The addresses that lead to the app (pending custom domains left out).
    addresses: list[routing.Address] = field(default_factory=list)
    # A tiny CPU trend of the last hour (monitoring.selectors.metric_trends), or "".
    trend: str = ""

    @property
    def app_url(self) -> str:
        return routing.app_url(self.project.app_host)

    @property
    def local_address(self) -> str:
        return f"127.0.0.1:{self.live.host_port}" if self.live and self.live.host_port else ""

    @property
    def uptime(self) -> timedelta | None:
        return timezone.now() - self.live.live_at if self.live and self.live.live_at else None


def overview_rows(projects) -> list[ProjectRow]:
    """A row per project, in a fixed number of queries however many projects there are.

    Runtime health comes from the monitoring app's stored checks: a live app it finds
    unhealthy or crashed shows that state instead of "Live".
    """
    projects = list(projects)  # often a page: a slice of the visible projects
    prefetch_related_objects(projects, "domains")
    ids = [project.pk for project in projects]
    # Each project's newest build: one index scan per project on (project, created_at, id).
    newest = Build.objects.filter(project=OuterRef("pk")).order_by("-created_at", "-pk")
    latest_ids = dict(
        Project.objects.filter(pk__in=ids)
        .annotate(latest=Subquery(newest.values("pk")[:1]))
        .values_list("pk", "latest")
    )
    latest = Build.objects.in_bulk([pk for pk in latest_ids.values() if pk])
    live_deployments = Deployment.objects.filter(
        project_id__in=ids, state=Deployment.State.LIVE, replica=0
    )
    live = {d.project_id: d for d in live_deployments.select_related("build")}
    # No default ordering here: with it, DISTINCT runs over every deployment that went live.
    ever_live = set(
        Deployment.objects.filter(project_id__in=ids, live_at__isnull=False)
        .order_by()
        .values_list("project_id", flat=True)
        .distinct()
    )
    health = monitoring.health_by_project(ids)  # stored results only, no Docker call
    trends = monitoring.metric_trends(ids)
    rows = []
    for project in projects:
        build = latest.get(latest_ids.get(project.pk))
        deployment = live.get(project.pk)
        problem = health[project.pk].problem if deployment else ""
        status = project_status(
            build, deployment, ever_live=project.pk in ever_live, health=problem
        )
        if project.deleting_at is not None:
            status = _status(DELETING, "The worker is removing its containers, images and volumes.")
        addresses = routing.addresses(project, routed_only=True)  # domains prefetched above
        rows.append(
            ProjectRow(
                project,
                status,
                build,
                deployment,
                health[project.pk],
                addresses,
                trends.get(project.pk, "") if deployment else "",
            )
        )
    return rows


def project_row(project) -> ProjectRow:
    return overview_rows(Project.objects.filter(pk=project.pk))[0]


def deployments_panel(project) -> dict:
    """What the project's deployments section shows: its state, live deployment and builds."""
    row = project_row(project)
    builds = list(project.builds.select_related("triggered_by")[:HISTORY_LENGTH])
    plan = row.live.build.plan if row.live else None
    return {
        "project": project,
        "row": row,
        "builds": builds,
        "rollback_ids": rollback_targets(project, row.live),
        "active": next((b for b in builds if b.is_active), None),
        "health_path": built_health_path(project.health_check_path, plan),
    }


# Build history and progress -------------------------------------------------------------------


def rollback_targets(project, live: Deployment | None) -> set[int]:
    """Builds that went live before and whose image is still kept, other than the live image."""
    kept = (
        Build.objects.filter(project=project, deployments__live_at__isnull=False)
        .exclude(image_id="")
        .order_by("-pk")
        .values_list("pk", "image_id")
        .distinct()[: settings.DEPLOYER_KEEP_IMAGES]
    )
    serving = live.build.image_id if live else None
    return {pk for pk, image_id in kept if image_id != serving}


@dataclass(frozen=True)
class Step:
    """One stage of a build as the progress indicator shows it."""

    state: str
    label: str
    status: str  # done, current, failed, cancelled, skipped or pending
    seconds: float | None = None


STEP_WORDS = {
    "done": "done",
    "current": "in progress",
    "failed": "failed",
    "cancelled": "cancelled",
    "skipped": "not run",
    "pending": "waiting",
}


def build_steps(build: Build, now: datetime | None = None) -> list[Step]:
    """Every stage in order: done, current (with seconds so far), failed, skipped or pending."""
    now = now or timezone.now()
    timings = build.stage_timings or {}
    steps = []
    for stage_name in Build.STAGES:
        label = State(stage_name).label
        timing = timings.get(stage_name)
        seconds = timing.get("seconds") if timing else None
        if build.failure_stage == stage_name and build.state in (State.FAILED, State.CANCELLED):
            status = "failed" if build.state == State.FAILED else "cancelled"
        elif build.state == stage_name:
            status, seconds = "current", _seconds_so_far(build, timings, now)
        elif timing:
            status = "done"
        elif build.is_finished or _passed(build, stage_name):
            status = "skipped"
        else:
            status = "pending"
        steps.append(Step(stage_name, label, status, seconds))
    return steps


def _passed(build: Build, stage_name: str) -> bool:
    """A stage before the current one with no timing was skipped (a rollback skips cloning)."""
    if build.state not in Build.STAGES:
        return False
    return Build.STAGES.index(stage_name) < Build.STAGES.index(build.state)


def _seconds_so_far(build: Build, timings: dict, now: datetime) -> float | None:
    finished = [datetime.fromisoformat(t["finished"]) for t in timings.values() if "finished" in t]
    began = max(finished, default=build.started_at)
    return round((now - began).total_seconds(), 1) if began else None


def log_settled(build: Build, now: datetime | None = None) -> bool:
    """True once no more log lines can arrive: finished, and past the worker's last writes."""
    if build.log_complete:
        return True
    if not build.is_finished:
        return False
    if build.finished_at is None:
        return True
    now = now or timezone.now()
    settle = LOG_SETTLE_SECONDS + settings.DEPLOYER_STOP_GRACE
    return (now - build.finished_at).total_seconds() > settle


# Detection ------------------------------------------------------------------------------------


@dataclass
class Detection:
    """A build plan with the Dockerfile it leads to, from a stored build or a fresh preview."""

    source: str
    plan: Plan | None = None
    dockerfile: str = ""
    dockerfile_note: str = ""
    # Beside an own Dockerfile: the one Deployer would generate (the builder setting's choice).
    generated_dockerfile: str = ""
    error: str = ""
    commit: str = ""
    notes: list[str] = field(default_factory=list)
    # Where each variable the settings read comes from, with the project's variables now.
    variables: list[settings_variables.Source] = field(default_factory=list)
    # {place in the image: file on the project's volume} of the kept SQLite databases.
    sqlite_links: dict[str, str] = field(default_factory=dict)
    # A preview the worker is still making: the page asks again for `preview_id`.
    waiting: bool = False
    preview_id: int | None = None


def stored_detection(project) -> Detection | None:
    """The plan of the project's newest build that got as far as detection, or None."""
    build = project.builds.filter(plan__isnull=False).exclude(plan={}).first()
    return build_detection(build) if build else None


def build_detection(build: Build) -> Detection | None:
    """The plan a build stored, with the Dockerfile generated from it; None before detection."""
    if not build.plan:
        return None
    plan = Plan.from_dict(build.plan)
    detection = Detection(source=f"build #{build.pk}", plan=plan, commit=build.commit_sha)
    add_variables(detection, build.project)
    detection.dockerfile, detection.dockerfile_note = dockerfile_for(plan, build.project, None)
    return detection


def add_variables(detection: Detection, project) -> None:
    """Where each variable the plan's settings read comes from now, and the kept SQLite files."""
    if detection.plan is None:
        return
    detection.variables = addon_services.variable_sources(project, detection.plan)
    detection.sqlite_links = volume_links(detection.plan.sqlite_databases)


def dockerfile_for(plan: Plan, project, root: Path | None) -> tuple[str, str]:
    """(Dockerfile text, a note saying where it comes from) for the plan.

    An own Dockerfile is read from `root` when the source is at hand (a preview), and only
    named otherwise (a stored plan)."""
    if plan.kind == "dockerfile":
        name = plan.dockerfile_path or "Dockerfile"
        text = tree.Tree(root).read_text(name) if root is not None else None
        note = f"The repository's own {name} is built as it is."
        return (text or "")[:PREVIEW_MAX_DOCKERFILE_CHARS], note
    names = sorted(project.env_vars.filter(available_at_build=True).values_list("key", flat=True))
    try:
        # As built while the package cache is up (builds/package_cache.py `suits`).
        text = dockerfile.generate_dockerfile(
            plan,
            base_image=settings.DEPLOYER_BASE_IMAGE,
            build_arg_names=names,
            package_cache=settings.DEPLOYER_PACKAGE_CACHE and plan.public_pypi and not names,
        )
    except ValueError as exc:
        return "", f"No Dockerfile can be generated from this plan: {exc}."
    return text, "Generated by Deployer from the plan."


# Ship report ----------------------------------------------------------------------------------

SHIP_REPORT_BUILDS = 5


@dataclass
class ShipRow:
    """How a project ships: its last builds that went live, side by side with other projects."""

    project: Project
    builds: list[Build]

    @property
    def latest(self) -> Build | None:
        return self.builds[0] if self.builds else None

    @property
    def median_push_to_live(self) -> float | None:
        seconds = [
            (b.finished_at - b.created_at).total_seconds() for b in self.builds if b.finished_at
        ]
        return statistics.median(seconds) if seconds else None

    @property
    def median_build(self) -> float | None:
        seconds = [
            b.stage_timings["building"]["seconds"]
            for b in self.builds
            if "building" in b.stage_timings
        ]
        return statistics.median(seconds) if seconds else None

    @property
    def cache_hits(self) -> str:
        known = [
            b.dependency_layer_cached for b in self.builds if b.dependency_layer_cached is not None
        ]
        return f"{sum(known)} of {len(known)}" if known else ""


def ship_rows(projects) -> list[ShipRow]:
    """For each project, its last SHIP_REPORT_BUILDS builds that went live (rollbacks excluded)."""
    projects = list(projects)
    # The database keeps SHIP_REPORT_BUILDS a project (a window over each project's builds,
    # newest first): before, every build that ever went live was loaded to keep five.
    ranked = (
        Build.objects.filter(
            project__in=[p.pk for p in projects],
            rollback_of__isnull=True,
        )
        .filter(Exists(Deployment.objects.filter(build=OuterRef("pk"), live_at__isnull=False)))
        .alias(
            rank=Window(
                RowNumber(),
                partition_by=F("project_id"),
                order_by=[F("created_at").desc(), F("pk").desc()],
            )
        )
        .filter(rank__lte=SHIP_REPORT_BUILDS)
        .values_list("pk", flat=True)
    )
    # Ranked by key only, then read: the window over whole rows carried every plan along.
    went_live = Build.objects.filter(pk__in=list(ranked)).order_by("-created_at", "-pk")
    by_project: dict[int, list[Build]] = {}
    for build in went_live:
        by_project.setdefault(build.project_id, []).append(build)
    return [ShipRow(project, by_project.get(project.pk, [])) for project in projects]
