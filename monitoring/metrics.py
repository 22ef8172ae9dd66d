"""App metrics: sample every live app, keep the samples small, and raise alert episodes.

`sample_all()` is what the periodic task calls. One round reads each live container's
one-shot stats through the Docker seam (concurrently, each within DEPLOYER_METRICS_TIMEOUT)
and the router's access log from where the last round stopped, and writes one sample per
app. What could not be read is left null: a gap in the chart, never an error. Then the
alert rules (monitoring.rules) are judged on each app's recent samples; a rule that starts
or stops firing is an event and a notification, once per episode.

`downsample()` and `prune()` are called by housekeeping: raw samples older than
DEPLOYER_METRICS_RAW_HOURS become 5-minute samples, deleted after DEPLOYER_METRICS_KEEP_DAYS.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from builds.models import Deployment
from monitoring import accesslog, alerts, containerstats, latency, notify, observe, rules
from monitoring.models import AppHealth, HealthEvent, MetricAlert, MetricSample, MetricsCursor
from routing import services as routing_services

logger = logging.getLogger(__name__)

CURSOR_PK = 1
# A round's claim older than this belonged to a worker that died mid-round.
CLAIM_STALE_SECONDS = 300
# A round reads at most this much of the access log; the rest waits for the next round.
MAX_LOG_BYTES = 32 * 1024 * 1024
BUCKET_SECONDS = 300
DOWNSAMPLE_BATCH = 5000
Raw = MetricSample.Resolution.RAW
FiveMinutes = MetricSample.Resolution.FIVE_MINUTES


@dataclass
class RoundSummary:
    sampled: int = 0
    gaps: int = 0  # live apps whose container could not be read
    requests: int = 0
    bad_lines: int = 0
    busy: bool = False
    engine_error: str = ""
    alerts: list[str] = field(default_factory=list)  # "slug: rule started|ended"


def sample_all(now: datetime | None = None) -> RoundSummary:
    """One round for every live app, unless another round is in progress."""
    started = time.monotonic()
    if not _claim():
        return RoundSummary(busy=True)
    now = now or timezone.now()
    try:
        summary = _round(now)
        summary.alerts = judge_alerts(now)
        return summary
    finally:
        MetricsCursor.objects.filter(pk=CURSOR_PK).update(
            running_since=None,
            last_run_at=now,
            last_run_seconds=round(time.monotonic() - started, 3),
        )


def _claim() -> bool:
    """A conditional UPDATE of the one cursor row: two overlapping rounds never both proceed."""
    now = timezone.now()
    MetricsCursor.objects.get_or_create(pk=CURSOR_PK)
    stale = now - timedelta(seconds=CLAIM_STALE_SECONDS)
    return bool(
        MetricsCursor.objects.filter(pk=CURSOR_PK)
        .filter(Q(running_since__isnull=True) | Q(running_since__lt=stale))
        .update(running_since=now)
    )


def _round(now: datetime) -> RoundSummary:
    summary = RoundSummary()
    cursor = MetricsCursor.objects.get(pk=CURSOR_PK)
    # One sample per project a round: its primary web replica's (the router's traffic is the
    # project's, whatever replica served it).
    live = list(
        Deployment.objects.filter(state=Deployment.State.LIVE, replica=0).select_related("project")
    )
    summary.engine_error = observe.engine_error(timeout=settings.DEPLOYER_METRICS_TIMEOUT)
    if summary.engine_error or not live:
        readings: list = [None] * len(live)
    else:
        readings = observe.read_all_stats(
            [d.container_id for d in live],
            timeout=settings.DEPLOYER_METRICS_TIMEOUT,
            workers=settings.DEPLOYER_MONITOR_CONCURRENCY,
        )
    traffic, position, bad = read_router(cursor)
    restarts = dict(
        AppHealth.objects.filter(deployment__in=live).values_list("deployment_id", "restart_count")
    )
    seconds = settings.DEPLOYER_METRICS_INTERVAL
    if cursor.last_run_at and now > cursor.last_run_at:
        seconds = min((now - cursor.last_run_at).total_seconds(), 10 * seconds)
    counters = {}
    samples = []
    for deployment, reading in zip(live, readings, strict=True):
        key = str(deployment.pk)
        if reading is None:
            summary.gaps += 1
            if key in cursor.counters:  # kept, so one missed read costs one gap, not two
                counters[key] = cursor.counters[key]
            figures = None
        else:
            figures = containerstats.figures(reading, cursor.counters.get(key))
            counters[key] = reading.counters()
        served = None if traffic is None else traffic.get(deployment.project_id)
        samples.append(
            make_sample(
                deployment,
                now,
                seconds,
                figures,
                restarts.get(deployment.pk),
                served,
                traffic is not None,
            )
        )
        summary.requests += served.requests if served else 0
    summary.sampled = len(samples)
    summary.bad_lines = bad
    with transaction.atomic():
        MetricSample.objects.bulk_create(samples)
        MetricsCursor.objects.filter(pk=CURSOR_PK).update(
            counters=counters,
            log_inode=position.inode,
            log_offset=position.offset,
            log_bad_lines=cursor.log_bad_lines + bad,
        )
    if bad:
        logger.warning("%s access log line(s) did not parse and were skipped", bad)
    return summary


def make_sample(
    deployment: Deployment,
    now: datetime,
    seconds: float,
    figures: containerstats.Figures | None,
    restarts: int | None,
    served: accesslog.Traffic | None,
    router_read: bool,
) -> MetricSample:
    sample = MetricSample(
        project_id=deployment.project_id,
        deployment=deployment,
        at=now,
        resolution=Raw,
        seconds=round(seconds, 3),
        restarts=restarts,
        requests=(served.requests if served else 0) if router_read else None,
    )
    if figures is not None:
        sample.cpu_percent = figures.cpu_percent
        sample.memory_bytes = figures.memory_bytes
        sample.memory_limit_bytes = figures.memory_limit_bytes
        sample.net_rx_bytes = figures.net_rx_bytes
        sample.net_tx_bytes = figures.net_tx_bytes
    if served:
        sample.status_2xx = served.by_class.get(2, 0)
        sample.status_3xx = served.by_class.get(3, 0)
        sample.status_4xx = served.by_class.get(4, 0)
        sample.status_5xx = served.by_class.get(5, 0)
        sample.p50_ms, sample.p95_ms = served.p50_ms, served.p95_ms
        sample.latency_histogram = served.histogram()
    return sample


def read_router(
    cursor: MetricsCursor,
) -> tuple[dict[int, accesslog.Traffic] | None, accesslog.Position, int]:
    """Each app's traffic since the last round; None when it is not known (no access log set,
    none written yet, or first seen this round, whose earlier lines are history)."""
    position = accesslog.Position(cursor.log_inode, cursor.log_offset)
    path = settings.DEPLOYER_ACCESS_LOG
    if not path:
        return None, position, 0
    lines, new_position = accesslog.read_new(path, position, max_bytes=MAX_LOG_BYTES)
    if position.inode is None or new_position.inode is None:
        return None, new_position, 0
    requests, bad = accesslog.parse(lines)
    if not requests:
        return {}, new_position, bad
    return accesslog.traffic(requests, routing_services.projects_by_host()), new_position, bad


# Alerts ---------------------------------------------------------------------------------------


def judge_alerts(now: datetime, limits: rules.Thresholds | None = None) -> list[str]:
    """Judge every live app's recent samples; start and end episodes. Returns what changed."""
    limits = limits or rules.Thresholds.from_settings()
    live = {
        d.project_id: d
        for d in Deployment.objects.filter(state=Deployment.State.LIVE, replica=0).select_related(
            "project"
        )
    }
    points: dict[int, list[rules.Point]] = {}
    for row in (
        MetricSample.objects.filter(
            project_id__in=live, resolution=Raw, at__gte=now - limits.lookback, at__lte=now
        )
        .order_by("at", "pk")
        .values(
            "project_id",
            "at",
            "deployment_id",
            "memory_bytes",
            "memory_limit_bytes",
            "requests",
            "status_5xx",
            "restarts",
        )
    ):
        points.setdefault(row.pop("project_id"), []).append(rules.Point(**row))
    open_alerts = {(a.project_id, a.rule): a for a in MetricAlert.objects.filter(ended_at=None)}
    changes = []
    for project_id, deployment in live.items():
        verdicts = rules.evaluate(points.get(project_id, []), now, limits)
        for rule, verdict in verdicts.items():
            alert = open_alerts.pop((project_id, rule), None)
            if verdict.firing and alert is None and start_alert(deployment, rule, verdict, now):
                changes.append(f"{deployment.project.slug}: {rule} started")
            elif not verdict.firing and alert is not None:
                end_alert(alert, verdict.reason, now, deployment=deployment)
                changes.append(f"{deployment.project.slug}: {rule} ended")
    for (project_id, rule), alert in open_alerts.items():
        if project_id not in live:
            end_alert(alert, "No deployment is live any more.", now)
            changes.append(f"{alert.project.slug}: {rule} ended")
    return changes


def start_alert(deployment: Deployment, rule: str, verdict: rules.Verdict, now: datetime) -> bool:
    """Open an episode: an event and notifications. False when one is open already."""
    project = deployment.project
    label = MetricAlert.Rule(rule).label
    try:
        with transaction.atomic():
            MetricAlert.objects.create(
                project=project, rule=rule, started_at=now, reason=verdict.reason
            )
            event = HealthEvent.objects.create(
                project=project,
                deployment=deployment,
                created_at=now,
                kind=HealthEvent.Kind.ALERT,
                reason=f"{label}: {verdict.reason}",
            )
            _notify(project, event, f"{project.slug}: {label.lower()}", "warn", "alert.started")
    except IntegrityError:  # another round opened it meanwhile
        return False
    return True


def end_alert(alert: MetricAlert, reason: str, now: datetime, *, deployment=None) -> None:
    label = MetricAlert.Rule(alert.rule).label
    with transaction.atomic():
        if not MetricAlert.objects.filter(pk=alert.pk, ended_at=None).update(ended_at=now):
            return
        event = HealthEvent.objects.create(
            project=alert.project,
            deployment=deployment,
            created_at=now,
            kind=HealthEvent.Kind.ALERT_ENDED,
            reason=f"{label}, no longer: {reason}",
        )
        _notify(
            alert.project,
            event,
            f"{alert.project.slug}: {label.lower()}, no longer",
            "ok",
            "alert.ended",
        )


def _notify(project, event: HealthEvent, title: str, tone: str, name: str) -> None:
    message = notify.Message(
        event=name,
        project=project.slug,
        title=title,
        text=event.reason,
        time=event.created_at,
        tone=tone,
        app_url=routing_services.app_url(project.app_host),
    )
    alerts.notify_project(project, message, event=event, topic="health")


# Downsampling and retention -------------------------------------------------------------------


def downsample(now: datetime | None = None) -> int:
    """Fold raw samples older than DEPLOYER_METRICS_RAW_HOURS into 5-minute samples; returns
    how many raw samples were folded."""
    now = now or timezone.now()
    edge = now - timedelta(hours=settings.DEPLOYER_METRICS_RAW_HOURS)
    cutoff = _bucket_start(edge)
    old = MetricSample.objects.filter(resolution=Raw, at__lt=cutoff)
    folded = 0
    for project_id in list(old.values_list("project_id", flat=True).distinct()):
        while True:
            rows = list(old.filter(project_id=project_id).order_by("at", "pk")[:DOWNSAMPLE_BATCH])
            if not rows:
                break
            groups: dict[datetime, list[MetricSample]] = {}
            for row in rows:
                groups.setdefault(_bucket_start(row.at), []).append(row)
            if len(rows) == DOWNSAMPLE_BATCH and len(groups) > 1:
                groups.pop(max(groups))  # may go on in the next batch
            with transaction.atomic():
                MetricSample.objects.bulk_create(
                    [fold(start, group) for start, group in groups.items()]
                )
                ids = [row.pk for group in groups.values() for row in group]
                MetricSample.objects.filter(pk__in=ids).delete()
            folded += len(ids)
    return folded


def fold(start: datetime, rows: Sequence[MetricSample]) -> MetricSample:
    """One 5-minute sample of raw ones: CPU averaged, memory at its peak, counts added up,
    percentiles read from the merged latency histogram."""
    cpu = [r.cpu_percent for r in rows if r.cpu_percent is not None]
    memory = [r.memory_bytes for r in rows if r.memory_bytes is not None]
    limits = [r.memory_limit_bytes for r in rows if r.memory_limit_bytes]
    requests = [r.requests for r in rows if r.requests is not None]
    histogram = latency.merge(r.latency_histogram for r in rows)
    return MetricSample(
        project_id=rows[-1].project_id,
        deployment_id=rows[-1].deployment_id,
        at=start,
        resolution=FiveMinutes,
        seconds=sum(r.seconds for r in rows),
        cpu_percent=round(statistics.fmean(cpu), 2) if cpu else None,
        memory_bytes=max(memory) if memory else None,
        memory_limit_bytes=limits[-1] if limits else None,
        net_rx_bytes=_sum(r.net_rx_bytes for r in rows),
        net_tx_bytes=_sum(r.net_tx_bytes for r in rows),
        restarts=max((r.restarts for r in rows if r.restarts is not None), default=None),
        requests=sum(requests) if requests else None,
        status_2xx=sum(r.status_2xx for r in rows),
        status_3xx=sum(r.status_3xx for r in rows),
        status_4xx=sum(r.status_4xx for r in rows),
        status_5xx=sum(r.status_5xx for r in rows),
        p50_ms=latency.histogram_percentile(histogram, 0.5),
        p95_ms=latency.histogram_percentile(histogram, 0.95),
        latency_histogram=histogram or None,
    )


def prune_filter(now: datetime | None = None):
    """The samples past DEPLOYER_METRICS_KEEP_DAYS, for housekeeping to delete in batches."""
    now = now or timezone.now()
    return MetricSample.objects.filter(
        at__lt=now - timedelta(days=settings.DEPLOYER_METRICS_KEEP_DAYS)
    )


def _bucket_start(moment: datetime) -> datetime:
    epoch = moment.timestamp()
    return datetime.fromtimestamp(epoch - epoch % BUCKET_SECONDS, tz=moment.tzinfo)


def _sum(values: Iterable[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None
