"""What pages read about runtime health: stored results only, never a Docker call at render time."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Avg, Count, Q
from django.utils import timezone
from django.utils.timesince import timesince

from monitoring import alerts, charts, metric_charts, uptime
from monitoring.models import (
    AppHealth,
    HealthCheck,
    HealthEvent,
    HealthState,
    MetricAlert,
    MetricSample,
    Monitor,
)

State = HealthState
RECENT_EVENTS = 12
RECENT_DELIVERIES = 10
# The page asks again this often while it is visible (capped by the check interval).
REFRESH_SECONDS = 10
LABELS = {
    State.HEALTHY: ("Healthy", "ok"),
    State.UNHEALTHY: ("Unhealthy", "warn"),
    State.CRASHED: ("Crashed", "bad"),
    State.OOM_KILLED: ("Out of memory", "bad"),
    State.STOPPED: ("Stopped", "muted"),
    State.UNKNOWN: ("Unknown", "muted"),
}


@dataclass(frozen=True)
class Health:
    """A project's health as pages show it: one of the HealthState values, and why."""

    state: str
    reason: str
    since: datetime | None = None
    checked_at: datetime | None = None
    # When the state is unknown because the engine or the checks are away: the stored one.
    last_known: str = ""

    @property
    def label(self) -> str:
        return LABELS[self.state][0]

    @property
    def tone(self) -> str:
        return LABELS[self.state][1]

    @property
    def problem(self) -> str:
        """'unhealthy' or 'crashed' (OOM included) for the overview badge; '' otherwise."""
        if self.state == State.UNHEALTHY:
            return "unhealthy"
        if self.state in (State.CRASHED, State.OOM_KILLED):
            return "crashed"
        return ""


@dataclass(frozen=True)
class Engine:
    reachable: bool
    error: str = ""
    since: datetime | None = None
    last_run_at: datetime | None = None


def engine() -> Engine:
    monitor = Monitor.objects.filter(pk=1).first()
    if monitor is None:
        return Engine(reachable=True)
    return Engine(
        monitor.engine_reachable, monitor.engine_error, monitor.engine_since, monitor.last_run_at
    )


def current_health(project) -> Health:
    """The project's latest stored health (two small queries, no Docker call)."""
    return health_by_project([project.pk])[project.pk]


def health_by_project(project_ids: Iterable[int]) -> dict[int, Health]:
    """Health of many projects in two queries, for list pages."""
    ids = list(project_ids)
    rows = {row.project_id: row for row in AppHealth.objects.filter(project_id__in=ids)}
    engine_now = engine()
    now = timezone.now()
    return {pk: _health(rows.get(pk), engine_now, now) for pk in ids}


def stale_after() -> timedelta:
    """No check for this long means the checks are not running (beat or workers down)."""
    return timedelta(seconds=max(3 * settings.DEPLOYER_MONITOR_INTERVAL, 90))


def _health(row: AppHealth | None, engine_now: Engine, now: datetime) -> Health:
    if row is None:
        return Health(State.UNKNOWN, "Not checked yet.")
    stored = Health(row.state, row.reason, row.since, row.checked_at)
    if row.state in (State.STOPPED, State.UNKNOWN):
        return stored
    if not engine_now.reachable:
        since = f" for {timesince(engine_now.since, now)}" if engine_now.since else ""
        return Health(
            State.UNKNOWN,
            f"The Docker engine has been unreachable{since}: the app's state cannot be seen. "
            f"Last known: {LABELS[row.state][0].lower()}.",
            row.since,
            row.checked_at,
            last_known=row.state,
        )
    if row.checked_at is None or now - row.checked_at > stale_after():
        last = f"since {timesince(row.checked_at, now)} ago" if row.checked_at else "yet"
        return Health(
            State.UNKNOWN,
            f"Not checked {last}: are the Celery worker and beat running? "
            f"Last known: {LABELS[row.state][0].lower()}.",
            row.since,
            row.checked_at,
            last_known=row.state,
        )
    return stored


def panel(project, now: datetime | None = None) -> dict:
    """Everything the project's health fragment shows."""
    now = now or timezone.now()
    day, week = now - timedelta(hours=24), now - timedelta(days=7)
    counts = HealthCheck.objects.filter(project=project, checked_at__gte=week).aggregate(
        ok_week=Count("pk", filter=Q(ok=True)),
        all_week=Count("pk"),
        ok_day=Count("pk", filter=Q(ok=True, checked_at__gte=day)),
        all_day=Count("pk", filter=Q(checked_at__gte=day)),
    )
    points = [
        charts.Point(time, latency, ok)
        for time, latency, ok in HealthCheck.objects.filter(
            project=project, checked_at__gte=day
        ).values_list("checked_at", "latency_ms", "ok")
    ]
    events = HealthEvent.objects.filter(Q(project=project) | Q(project__isnull=True)).filter(
        created_at__gte=week
    )[:RECENT_EVENTS]
    return {
        "project": project,
        "health": current_health(project),
        "engine": engine(),
        "uptime_day": uptime.format_percent(
            uptime.uptime_percent(counts["ok_day"], counts["all_day"])
        ),
        "uptime_week": uptime.format_percent(
            uptime.uptime_percent(counts["ok_week"], counts["all_week"])
        ),
        "checks_day": counts["all_day"],
        "checks_week": counts["all_week"],
        "chart": charts.response_time_chart(points, start=day, end=now),
        "events": events,
        "refresh_seconds": max(2, min(REFRESH_SECONDS, round(settings.DEPLOYER_MONITOR_INTERVAL))),
        "interval": settings.DEPLOYER_MONITOR_INTERVAL,
    }


def notifications(project, *, with_secret: bool = True) -> dict:
    """What the notifications section shows besides its form. Reading creates nothing: a
    project whose settings were never saved shows the defaults and no signing secret yet;
    without `with_secret` (a role that may not see it) none either."""
    prefs = alerts.saved_notification_settings(project)
    return {
        "project": project,
        "prefs": prefs,
        "signing_secret": prefs.signing_secret() if prefs.pk and with_secret else "",
        "webhook_target": alerts.masked_webhook(prefs),
        "recipients": alerts.recipients(prefs),
        "deliveries": project.notification_deliveries.all()[:RECENT_DELIVERIES],
    }


# App metrics ----------------------------------------------------------------------------------

# The ranges the metrics charts offer: (span, words, the left edge's label).
METRIC_RANGES = {
    "1h": (timedelta(hours=1), "last hour", "1 h ago"),
    "24h": (timedelta(hours=24), "last 24 hours", "24 h ago"),
    "7d": (timedelta(days=7), "last 7 days", "7 d ago"),
    "30d": (timedelta(days=30), "last 30 days", "30 d ago"),
}
DEFAULT_METRIC_RANGE = "24h"
MB = 1024 * 1024
TREND_SPAN = timedelta(hours=1)
TREND_SLOTS = 12


def metrics_panel(
    project, range_key: str = DEFAULT_METRIC_RANGE, now: datetime | None = None
) -> dict:
    """The metrics fragment: four charts over the range, its totals and open alerts.
    `range_key` must be one of METRIC_RANGES (the view answers 404 otherwise)."""
    now = now or timezone.now()
    span, words, start_label = METRIC_RANGES[range_key]
    start = now - span
    rows = list(
        MetricSample.objects.filter(project=project, at__gte=start, at__lte=now)
        .order_by("at")
        .values_list(
            "at",
            "seconds",
            "cpu_percent",
            "memory_bytes",
            "memory_limit_bytes",
            "requests",
            "status_2xx",
            "status_3xx",
            "status_4xx",
            "status_5xx",
            "p50_ms",
            "p95_ms",
        )
    )

    def values(column: int, scale: float = 1.0, only_counted: bool = False) -> list:
        return [
            metric_charts.Value(
                row[0],
                None
                if row[column] is None or (only_counted and row[5] is None)
                else row[column] / scale,
                row[1],
            )
            for row in rows
        ]

    common = {"start": start, "end": now, "start_label": start_label}
    requests = sum(row[5] or 0 for row in rows)
    errors = sum(row[9] for row in rows)
    return {
        "project": project,
        "range": range_key,
        "ranges": [(key, value[1]) for key, value in METRIC_RANGES.items()],
        "range_words": words,
        "interval": settings.DEPLOYER_METRICS_INTERVAL,
        "samples": len(rows),
        "requests": requests,
        "errors": errors,
        "error_share": f"{errors / requests:.1%}" if requests else "",
        "alerts": MetricAlert.objects.filter(project=project, ended_at=None),
        "cpu_chart": metric_charts.line_chart(
            [metric_charts.Series("CPU", values(2))],
            title=f"CPU (percent of one core), {words}",
            unit=lambda v: f"{v:.0f} %" if v >= 10 else f"{v:.1f} %",
            **common,
        ),
        "memory_chart": metric_charts.line_chart(
            [
                metric_charts.Series("used", values(3, MB), how="max"),
                metric_charts.Series("limit", values(4, MB), how="max", dashed=True),
            ],
            title=f"Memory against its limit, {words}",
            unit=lambda v: f"{v:.0f} MB",
            **common,
        ),
        "requests_chart": metric_charts.line_chart(
            [
                metric_charts.Series(
                    name, values(column, only_counted=True), how="rate", color=color
                )
                for name, column, color in (
                    ("2xx", 6, "#0f9d58"),
                    ("3xx", 7, "#2456d6"),
                    ("4xx", 8, "#d97706"),
                    ("5xx", 9, "#d93025"),
                )
            ],
            title=f"Requests per second by status class, {words}",
            unit=lambda v: f"{v:.2g}/s",
            **common,
        ),
        "latency_chart": metric_charts.line_chart(
            [
                metric_charts.Series("p50", values(10)),
                metric_charts.Series("p95", values(11), how="max"),
            ],
            title=f"Latency at the router, {words}",
            unit=lambda v: f"{v:.0f} ms" if v >= 1 else f"{v:.2f} ms",
            **common,
        ),
    }


def metric_trends(project_ids: Iterable[int], now: datetime | None = None) -> dict[int, str]:
    """A CPU sparkline of the last hour per project, in one query, for the projects list.

    The database averages each of the TREND_SLOTS slots (one row per project): reading
    every raw sample of the hour cost more than the rest of the projects list."""
    now = now or timezone.now()
    start = now - TREND_SPAN
    width = TREND_SPAN / TREND_SLOTS
    bounds = [start + width * n for n in range(TREND_SLOTS + 1)]
    slots = {
        f"slot{n}": Avg(
            "cpu_percent",
            filter=Q(at__gte=bounds[n])
            & (Q(at__lte=now) if n == TREND_SLOTS - 1 else Q(at__lt=bounds[n + 1])),
        )
        for n in range(TREND_SLOTS)
    }
    rows = (
        MetricSample.objects.filter(
            project_id__in=list(project_ids), resolution="raw", at__gte=start
        )
        .order_by()
        .values("project_id")
        .annotate(**slots)
    )
    trends = {}
    for row in rows:
        # One value in the middle of each slot: the sparkline's mean of it is the slot's mean.
        values = [
            metric_charts.Value(bounds[n] + width / 2, row[f"slot{n}"])
            for n in range(TREND_SLOTS)
            if row[f"slot{n}"] is not None
        ]
        trends[row["project_id"]] = metric_charts.sparkline(
            values, start=start, end=now, label="CPU %, last hour", slots=TREND_SLOTS
        )
    return trends
