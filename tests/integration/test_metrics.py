"""App metrics on the real engine and a real Caddy: a load burst shows in the samples and on
the chart; an app that allocates past the memory rule raises an alert (and only one)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings

from builds import tasks as build_tasks  # noqa: F401 - registers the task deploy() queues
from builds.models import Build, Deployment
from monitoring import metrics
from monitoring.models import (
    HealthEvent,
    MetricAlert,
    MetricSample,
    MetricsCursor,
    NotificationDelivery,
)
from tests.integration.conftest import deploy as deploy_build
from tests.integration.conftest import http_get, wait_until
from tests.integration.test_routing import router  # noqa: F401 - the running Caddy fixture

pytestmark = pytest.mark.django_db(transaction=True)

# A stdlib-only app (no package index needed): /work burns about 10 ms of CPU, /hold keeps
# 150 MB allocated, anything else answers at once.
METERED_APP = {
    "Dockerfile": 'FROM python:3.11-slim\nCOPY app.py /app.py\nCMD ["python", "-u", "/app.py"]\n',
    "app.py": """\
import os
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HELD = []


class App(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/work":
            end = time.process_time() + 0.01
            while time.process_time() < end:
                pass
        elif self.path == "/hold":
            HELD.append(bytearray(150 << 20))
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), App).serve_forever()
""",
}


@pytest.fixture
def metered(router, celery_worker, git_repo, make_project, user):  # noqa: F811
    user.email = "ada@example.com"
    user.save()
    project = make_project(git_repo(METERED_APP), memory_limit_mb=256)
    build = deploy_build(project)
    assert build.state == Build.State.LIVE, build.failure_reason

    def routed():
        """the app answers through Caddy"""
        try:
            return http_get(settings.DEPLOYER_HTTP_PORT, "/", host=project.app_host)[0] == 200
        except OSError:
            return False

    wait_until(routed, timeout=30)
    return project


def latest_sample(project) -> MetricSample:
    return MetricSample.objects.filter(project=project).order_by("-at", "-pk").first()


def reading_the_access_log() -> bool:
    """a round has seen the router's access log: it is read from here on (Caddy writes the
    file with its first line, a moment after the request that made it)"""
    metrics.sample_all()  # also the counters the next round subtracts from
    return MetricsCursor.objects.filter(pk=metrics.CURSOR_PK, log_inode__isnull=False).exists()


def test_a_load_burst_raises_requests_and_cpu_and_shows_on_the_chart(metered, auth_client):
    wait_until(reading_the_access_log, timeout=15)
    time.sleep(2)
    metrics.sample_all()
    idle = latest_sample(metered)

    def get(_):
        return http_get(settings.DEPLOYER_HTTP_PORT, "/work", host=metered.app_host)[0]

    with ThreadPoolExecutor(max_workers=4) as pool:  # bounded: 200 requests on loopback
        statuses = list(pool.map(get, range(200)))
    assert statuses == [200] * 200
    metrics.sample_all()

    busy = latest_sample(metered)
    assert idle.requests == 0 and idle.cpu_percent is not None
    assert busy.requests == 200 and busy.status_2xx == 200
    assert busy.cpu_percent > idle.cpu_percent + 10
    assert busy.p50_ms > 0 and busy.p95_ms >= busy.p50_ms
    assert busy.memory_limit_bytes == 256 * 1024 * 1024
    assert busy.net_rx_bytes > 200 * 50  # each request is bytes in on the container's network
    page = auth_client.get(f"/projects/{metered.slug}/monitoring/?range=1h").content.decode()
    assert "200 requests through the router" in page
    assert "2xx latest" in page


def test_an_app_that_allocates_past_the_rule_raises_one_memory_alert(metered, settings):
    settings.DEPLOYER_ALERT_MEMORY_SHARE = 0.5
    settings.DEPLOYER_ALERT_MEMORY_MINUTES = 0.05  # 3 s
    live = Deployment.objects.get(project=metered, state=Deployment.State.LIVE)
    assert http_get(live.host_port, "/hold")[0] == 200
    metrics.sample_all()
    time.sleep(4)
    metrics.sample_all()
    time.sleep(1)
    metrics.sample_all()  # still above: the same episode, no second event

    assert latest_sample(metered).memory_bytes > 150 * 1024 * 1024
    alert = MetricAlert.objects.get(project=metered)
    assert alert.rule == "memory" and alert.ended_at is None
    event = HealthEvent.objects.get(project=metered, kind=HealthEvent.Kind.ALERT)
    assert "Memory has been above 50% of the limit for 3 s" in event.reason
    delivery = NotificationDelivery.objects.get(project=metered, event=event)
    assert delivery.subject == f"[Deployer] {metered.slug}: memory near its limit"
