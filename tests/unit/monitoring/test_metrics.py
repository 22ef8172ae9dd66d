"""Metrics rounds with the engine replaced at the seam (observe.read_stats) and a real log file."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from deployer.housekeeping import delete_old_rows
from monitoring import metrics, observe
from monitoring.containerstats import Reading
from monitoring.models import (
    HealthEvent,
    MetricAlert,
    MetricSample,
    MetricsCursor,
    NotificationDelivery,
)

MB = 1024 * 1024


class FakeEngine:
    """What the engine answers per container id; a missing id is a container that went."""

    def __init__(self) -> None:
        self.readings: dict[str, Reading] = {}
        self.error = ""

    def set(self, container_id: str, *, at: float, cpu_s: float, memory_mb: int, rx: int = 0):
        self.readings[container_id] = Reading(
            at, int(cpu_s * 1e9), memory_mb * MB, 256 * MB, rx, rx // 2
        )


@pytest.fixture
def engine(monkeypatch, settings, tmp_path):
    fake = FakeEngine()
    monkeypatch.setattr(observe, "read_stats", lambda cid, timeout: fake.readings.get(cid))
    monkeypatch.setattr(observe, "engine_error", lambda timeout: fake.error)
    settings.DEPLOYER_ACCESS_LOG = str(tmp_path / "caddy-access.log")
    settings.DEPLOYER_BASE_DOMAIN = "localhost"
    return fake


def log_requests(settings, *statuses: int, host: str = "shop.localhost:8080") -> None:
    with open(settings.DEPLOYER_ACCESS_LOG, "a") as log:
        for status in statuses:
            entry = {
                "logger": "http.log.access.deployer",
                "request": {"host": host},
                "status": status,
                "duration": 0.02,
            }
            log.write(json.dumps(entry) + "\n")


def test_a_round_samples_cpu_memory_network_and_the_router(engine, live, settings):
    log_requests(settings)  # the file exists before the first round, which starts at its end
    now = timezone.now()
    engine.set("c0ffee", at=1000.0, cpu_s=10, memory_mb=100, rx=1000)
    metrics.sample_all(now)
    engine.set("c0ffee", at=1020.0, cpu_s=15, memory_mb=120, rx=5000)
    log_requests(settings, 200, 200, 404, 500)
    with open(settings.DEPLOYER_ACCESS_LOG, "a") as log:
        log.write("this line is not JSON\n")

    summary = metrics.sample_all(now + timedelta(seconds=20))

    first, second = MetricSample.objects.order_by("at")
    assert first.cpu_percent is None and first.requests is None  # nothing to compare with yet
    assert second.cpu_percent == 25.0  # 5 s of CPU in 20 s
    assert second.memory_bytes == 120 * MB and second.memory_limit_bytes == 256 * MB
    assert (second.net_rx_bytes, second.net_tx_bytes) == (4000, 2000)
    assert second.requests == 4
    assert (second.status_2xx, second.status_4xx, second.status_5xx) == (2, 1, 1)
    assert second.p50_ms == second.p95_ms == 20.0
    assert summary.bad_lines == 1
    assert MetricsCursor.objects.get().log_bad_lines == 1


def test_a_container_that_goes_between_rounds_is_a_gap_not_an_error(engine, live):
    now = timezone.now()
    engine.set("c0ffee", at=1000.0, cpu_s=10, memory_mb=100)
    metrics.sample_all(now)
    engine.readings.clear()

    summary = metrics.sample_all(now + timedelta(seconds=20))

    gap = MetricSample.objects.order_by("at").last()
    assert summary.gaps == 1
    assert gap.cpu_percent is None and gap.memory_bytes is None
    engine.set("c0ffee", at=1040.0, cpu_s=12, memory_mb=100)
    metrics.sample_all(now + timedelta(seconds=40))
    assert MetricSample.objects.order_by("at").last().cpu_percent == 5.0  # counters were kept


def test_a_stopped_engine_costs_a_gap_and_the_router_figures_still_come(engine, live, settings):
    log_requests(settings)
    now = timezone.now()
    metrics.sample_all(now)
    engine.error = "The Docker engine is not reachable (is dockerd running?)."
    log_requests(settings, 200, 503)

    summary = metrics.sample_all(now + timedelta(seconds=20))

    sample = MetricSample.objects.order_by("at").last()
    assert summary.engine_error and summary.gaps == 1
    assert sample.memory_bytes is None and sample.requests == 2


def test_no_running_round_overlaps_another(engine, live):
    MetricsCursor.objects.create(pk=1, running_since=timezone.now())
    assert metrics.sample_all().busy
    assert not MetricSample.objects.exists()


def test_memory_alert_is_one_event_per_episode_and_says_when_it_ends(engine, live, settings):
    settings.DEPLOYER_ALERT_MEMORY_MINUTES = 1
    now = timezone.now()
    for second in range(0, 100, 20):
        engine.set("c0ffee", at=1000.0 + second, cpu_s=1, memory_mb=250)
        metrics.sample_all(now + timedelta(seconds=second))
    engine.set("c0ffee", at=1100.0, cpu_s=1, memory_mb=50)
    metrics.sample_all(now + timedelta(seconds=100))

    events = list(HealthEvent.objects.order_by("created_at").values_list("kind", "reason"))
    assert [kind for kind, _ in events] == ["alert", "alert_ended"]
    assert "above 90% of the limit for 1 minute (now 98% of its 256 MB limit)" in events[0][1]
    assert MetricAlert.objects.get().ended_at is not None
    subjects = list(NotificationDelivery.objects.order_by("pk").values_list("subject", flat=True))
    assert subjects == [
        "[Deployer] shop: memory near its limit",
        "[Deployer] shop: memory near its limit, no longer",
    ]


def test_server_errors_above_the_rate_raise_an_alert(engine, live, settings):
    settings.DEPLOYER_ALERT_MIN_REQUESTS = 5
    log_requests(settings)
    now = timezone.now()
    metrics.sample_all(now)
    log_requests(settings, *([500] * 4 + [200] * 6))

    summary = metrics.sample_all(now + timedelta(seconds=20))

    assert summary.alerts == ["shop: 5xx started"]
    assert "4 of 10 requests (40%)" in HealthEvent.objects.get(kind="alert").reason


def test_an_open_alert_ends_when_the_app_is_no_longer_live(engine, live):
    MetricAlert.objects.create(project=live.project, rule="memory", reason="high")
    live.state = "stopped"
    live.save()

    assert metrics.judge_alerts(timezone.now()) == ["shop: memory ended"]
    assert HealthEvent.objects.get().kind == "alert_ended"


def test_downsampling_folds_old_raw_samples_into_five_minutes(live, settings):
    settings.DEPLOYER_METRICS_RAW_HOURS = 24
    start = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=30)
    for n in range(15):  # five minutes of 20-second rounds
        MetricSample.objects.create(
            project=live.project,
            deployment=live,
            at=start + timedelta(seconds=20 * n),
            seconds=20,
            cpu_percent=float(n),
            memory_bytes=(100 + n) * MB,
            memory_limit_bytes=256 * MB,
            requests=10,
            status_2xx=9,
            status_5xx=1,
            latency_histogram={"14": 9, "32": 1},  # ~11 ms and ~256 ms
        )
    recent = MetricSample.objects.create(project=live.project, cpu_percent=1.0)

    assert metrics.downsample() == 15

    folded = MetricSample.objects.get(resolution="5m")
    assert folded.at == start and folded.seconds == 300
    assert folded.cpu_percent == 7.0 and folded.memory_bytes == 114 * MB
    assert (folded.requests, folded.status_5xx) == (150, 15)
    assert 10 < folded.p50_ms < 12 and 230 < folded.p95_ms < 260
    assert set(MetricSample.objects.values_list("pk", flat=True)) == {folded.pk, recent.pk}


def test_samples_past_the_keep_days_are_deleted_by_housekeeping(live, settings):
    settings.DEPLOYER_METRICS_KEEP_DAYS = 30
    old = timezone.now() - timedelta(days=31)
    MetricSample.objects.create(project=live.project, at=old, resolution="5m")
    kept = MetricSample.objects.create(
        project=live.project, at=old + timedelta(days=2), resolution="5m"
    )

    assert delete_old_rows()["metric samples"] == 1
    assert list(MetricSample.objects.values_list("pk", flat=True)) == [kept.pk]
