"""What a running app sends back (its reason phrase, its last lines) is redacted before it is kept."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from monitoring import services
from monitoring.checks import ContainerState
from monitoring.models import HealthEvent
from projects import services as project_services
from tests.unit.monitoring.conftest import answered

pytestmark = pytest.mark.django_db

TOKEN = "sk_live_0123456789abcdef"
PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"


@pytest.fixture(autouse=True)
def secrets(project):
    project_services.add_env_var(project, "STRIPE_KEY", TOKEN)
    project_services.add_env_var(project, "TLS_KEY", PEM)


def test_an_apps_reason_phrase_quoting_its_secret_is_stored_redacted(live, observation):
    health = services.health_of(live)
    probe = answered(503, detail=f"Service Unavailable {TOKEN}")

    services.record_observation(
        health, live, observation(ContainerState("running", 0, False, 0), probe), timezone.now()
    )
    health.refresh_from_db()

    assert health.reason.endswith("GET /healthz answered 503 Service Unavailable ********.")
    assert TOKEN not in "".join(HealthEvent.objects.values_list("reason", flat=True))


def test_a_crashed_apps_last_lines_hide_every_line_of_a_multi_line_secret(live, observation):
    health = services.health_of(live)
    crashed = ContainerState("exited", exit_code=1, oom_killed=False, restart_count=0)
    lines = ["Traceback (most recent call last):", *PEM.splitlines(), f"token={TOKEN}"]

    for minutes in (0, 1, 2):
        services.record_observation(
            health,
            live,
            observation(crashed, None, logs=lines),
            timezone.now() + timedelta(minutes=minutes),
        )
        health.refresh_from_db()

    kept = "\n".join(HealthEvent.objects.values_list("logs", flat=True))
    assert "Traceback" in kept
    assert "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" not in kept
    assert "BEGIN PRIVATE KEY" not in kept
    assert TOKEN not in kept
