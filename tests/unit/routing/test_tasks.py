from __future__ import annotations

import pytest

from routing import tasks

pytestmark = pytest.mark.django_db


def test_reconcile_task_puts_the_routes_back(project, make_live, fake_caddy):
    make_live(project, 32801)

    assert tasks.reconcile_routes() == {"changed": True, "routes": 1}
    assert fake_caddy.hosts_to_ports() == {"shop.apps.example.net": 32801}
    assert tasks.reconcile_routes() == {"changed": False, "routes": 1}


def test_reconcile_task_with_caddy_down_reports_instead_of_raising(project, fake_caddy, caplog):
    fake_caddy.down = True

    result = tasks.reconcile_routes()

    assert "not answering" in result["error"]
    assert "Routes not reconciled" in caplog.text


def test_worker_start_queues_a_reconcile(monkeypatch):
    sent = []
    monkeypatch.setattr(tasks.reconcile_routes, "delay", lambda: sent.append("reconcile"))

    tasks._reconcile_routes_at_start(sender=None)

    assert sent == ["reconcile"]


def test_reconcile_runs_on_the_beat_schedule(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["reconcile-routes"]

    assert entry["task"] == tasks.reconcile_routes.name
    assert entry["schedule"] == settings.DEPLOYER_ROUTE_RECONCILE_INTERVAL == 30.0
