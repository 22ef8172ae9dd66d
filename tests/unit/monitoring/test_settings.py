from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from monitoring import tasks

ROOT = Path(__file__).resolve().parents[3]


def _load_settings(**env: str) -> subprocess.CompletedProcess:
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DEPLOYER_MONITOR_INTERVAL, s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS)"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "deployer.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_periodic_check_runs_a_registered_task_every_interval_and_drops_stale_runs():
    entry = settings.CELERY_BEAT_SCHEDULE["check-app-health"]

    assert entry["task"] == tasks.check_apps.name
    assert entry["schedule"] == settings.DEPLOYER_MONITOR_INTERVAL
    assert entry["options"]["expires"] == settings.DEPLOYER_MONITOR_INTERVAL
    assert settings.CELERY_BEAT_SCHEDULE["prune-health-history"]["task"] == tasks.prune_history.name


def test_monitoring_defaults():
    assert settings.DEPLOYER_MONITOR_INTERVAL == 30.0
    assert settings.DEPLOYER_CRASH_RESTARTS == 5
    assert settings.DEPLOYER_CRASH_WINDOW == 600.0


@pytest.mark.parametrize(
    "name", ["DEPLOYER_MONITOR_INTERVAL", "DEPLOYER_CRASH_RESTARTS", "DEPLOYER_MONITOR_TIMEOUT"]
)
def test_a_value_that_is_not_positive_stops_start_up_naming_it(name):
    result = _load_settings(**{name: "0"})

    assert result.returncode != 0
    assert f"{name} must be greater than zero" in result.stderr


def test_email_url_configures_the_smtp_backend():
    result = _load_settings(EMAIL_URL="smtp+tls://robot:pw@mail.example.com:587")

    assert result.stdout.split()[1:] == [
        "django.core.mail.backends.smtp.EmailBackend",
        "mail.example.com",
        "587",
        "True",
    ]


def test_a_bad_email_url_stops_start_up_naming_it():
    result = _load_settings(EMAIL_URL="pigeon://coop")

    assert result.returncode != 0
    assert "EMAIL_URL is invalid" in result.stderr
