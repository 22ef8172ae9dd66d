from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from monitoring.models import MetricAlert, MetricSample

pytestmark = pytest.mark.django_db

HEALTH = "/projects/shop/monitoring/"
MB = 1024 * 1024


@pytest.fixture
def samples(live):
    now = timezone.now()
    for n in range(6):
        MetricSample.objects.create(
            project=live.project,
            deployment=live,
            at=now - timedelta(minutes=50 - 10 * n),
            seconds=20,
            cpu_percent=12.5,
            memory_bytes=200 * MB,
            memory_limit_bytes=256 * MB,
            requests=40,
            status_2xx=38,
            status_5xx=2,
            p50_ms=8.0,
            p95_ms=95.0,
        )
    # A gap: the container could not be read.
    MetricSample.objects.create(project=live.project, at=now - timedelta(minutes=55), seconds=20)


def test_health_page_shows_the_metrics_charts_with_their_figures_in_words(auth_client, samples):
    page = auth_client.get(HEALTH).content.decode()
    assert 'id="metrics"' in page
    assert "Metrics, last 24 hours" in page
    assert "CPU (percent of one core), last 24 hours: CPU latest 12 %, peak 12 %." in page
    assert "used latest 200 MB" in page and "limit latest 256 MB" in page
    assert "2xx latest 1.9/s" in page and "5xx latest 0.1/s" in page
    assert "p95 latest 95 ms" in page
    assert "240 requests through the router, 5.0% answered 5xx" in page


def test_range_link_swaps_only_the_metrics_fragment(auth_client, samples):
    response = auth_client.get(
        HEALTH + "?range=1h", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="metrics"
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<section class="card" id="metrics">')
    assert "Metrics, last hour" in body
    assert (
        'href="?range=1h" hx-get="?range=1h" hx-target="#metrics" hx-swap="outerHTML" hx-push-url="true" aria-current="page"'
        in body
    )
    assert 'id="health"' not in body


def test_health_poll_still_gets_the_health_fragment(auth_client, samples):
    body = auth_client.get(HEALTH, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="health").content.decode()
    assert 'id="health"' in body and 'id="metrics"' not in body


@pytest.mark.parametrize("bad", ["2h", "", "30d<script>"])
def test_an_unknown_range_is_not_found(auth_client, samples, bad):
    assert auth_client.get(HEALTH, {"range": bad}).status_code == 404


def test_open_alerts_are_listed_above_the_charts(auth_client, live):
    MetricAlert.objects.create(project=live.project, rule="memory", reason="Memory at 97%.")
    page = auth_client.get(HEALTH + "?range=7d").content.decode()
    assert "Memory near its limit</b> since" in page and "Memory at 97%." in page


def test_projects_list_shows_a_cpu_trend_of_live_apps(auth_client, samples):
    page = auth_client.get("/").content.decode()
    assert 'class="sparkline"' in page
    assert "CPU %, last hour: latest 12.5, peak 12.5" in page
