from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.utils import timezone

from builds.models import Deployment
from monitoring import services
from monitoring.checks import ContainerState
from monitoring.models import (
    AppHealth,
    HealthCheck,
    HealthEvent,
    HealthState,
    Monitor,
    NotificationDelivery,
)
from projects import services as project_services
from tests.unit.monitoring.conftest import answered, running

pytestmark = pytest.mark.django_db

State = HealthState
Kind = HealthEvent.Kind


@pytest.fixture
def health(live):
    return services.health_of(live)


@pytest.fixture
def record(health, live, observation):
    """`record(container, probe, at=minutes)`: one check's result, as check_all would store it."""

    def run(container, probe=None, *, at: float = 0, **extra):
        now = timezone.now() + timedelta(minutes=at)
        services.record_observation(health, live, observation(container, probe, **extra), now)
        health.refresh_from_db()
        return health

    return run


def state_events(project):
    return list(
        HealthEvent.objects.filter(project=project, kind=Kind.STATE)
        .order_by("created_at")
        .values_list("previous_state", "state")
    )


def test_first_healthy_check_is_recorded_as_a_change_from_unknown(record, project):
    health = record(running(), answered(200, 20.0))

    assert health.state == State.HEALTHY
    assert health.reason == "GET /healthz answered 200 in 20 ms."
    assert health.latency_ms == 20.0
    assert state_events(project) == [(State.UNKNOWN, State.HEALTHY)]


def test_repeated_identical_results_add_samples_but_no_events(record, project):
    for minute in range(5):
        record(running(), answered(200), at=minute)

    assert HealthCheck.objects.filter(project=project).count() == 5
    assert HealthEvent.objects.filter(project=project).count() == 1


def test_app_turns_unhealthy_on_the_second_failure_in_a_row_and_back_on_one_success(
    record, project
):
    record(running(), answered(200), at=0)
    first = record(running(), answered(500, detail="Internal Server Error"), at=1)
    assert first.state == State.HEALTHY
    assert first.reason.startswith("Failed check 1 of 2")

    second = record(running(), answered(500, detail="Internal Server Error"), at=2)
    assert second.state == State.UNHEALTHY
    assert second.reason == "GET /healthz answered 500 Internal Server Error."

    assert record(running(), answered(200), at=3).state == State.HEALTHY
    assert state_events(project) == [
        (State.UNKNOWN, State.HEALTHY),
        (State.HEALTHY, State.UNHEALTHY),
        (State.UNHEALTHY, State.HEALTHY),
    ]


def test_a_failed_check_counts_against_uptime_even_before_the_state_turns(record, project):
    record(running(), answered(200), at=0)
    record(running(), answered(500), at=1)

    assert list(
        HealthCheck.objects.filter(project=project)
        .order_by("checked_at")
        .values_list("state", "ok")
    ) == [
        (State.HEALTHY, True),
        (State.HEALTHY, False),
    ]


def test_crash_is_an_event_with_exit_code_and_redacted_last_lines(record, project):
    project_services.add_env_var(project, "API_TOKEN", "tok-very-secret-123")
    record(running(), answered(200), at=0)

    health = record(
        ContainerState("exited", exit_code=137), logs=["boot", "token=tok-very-secret-123"], at=1
    )

    assert health.state == State.CRASHED
    event = HealthEvent.objects.get(project=project, kind=Kind.STATE, state=State.CRASHED)
    assert event.exit_code == 137
    assert "killed by SIGKILL" in event.reason
    assert "boot" in event.logs
    assert "tok-very-secret-123" not in event.logs


def test_an_engine_error_for_one_app_leaves_its_state_alone(record, project):
    record(running(), answered(200), at=0)

    health = record(None, None, engine_error="The Docker engine did not answer in time.", at=1)

    assert health.state == State.HEALTHY
    assert HealthCheck.objects.filter(project=project).count() == 1


def test_a_check_that_overran_its_budget_is_a_failure(record, settings):
    settings.DEPLOYER_MONITOR_UNHEALTHY_AFTER = 1

    health = record(None, None, timed_out=True)

    assert health.state == State.UNHEALTHY
    assert "did not finish within" in health.reason


def test_a_deployment_replaced_during_the_check_is_not_recorded(record, live, project):
    Deployment.objects.filter(pk=live.pk).update(state=Deployment.State.SUPERSEDED)

    health = record(ContainerState("exited", exit_code=1))

    assert health.state == State.UNKNOWN
    assert not HealthCheck.objects.filter(project=project).exists()


def test_each_docker_restart_is_an_event_with_the_number_of_restarts(record, project):
    record(running(), answered(200), at=0)

    health = record(running(restarts=2), answered(200), logs=["Traceback", "ValueError"], at=1)

    restart = HealthEvent.objects.get(project=project, kind=Kind.RESTARTED)
    assert restart.restarts == 2
    assert "ValueError" in restart.logs
    assert health.restart_count == 2
    assert health.state == State.CRASHED
    assert record(running(restarts=2), answered(200), at=2).state == State.HEALTHY


class FakeContainer:
    def __init__(self, calls):
        self.calls = calls

    def update(self, **kwargs):
        self.calls.append(("update", kwargs))

    def stop(self, timeout):
        self.calls.append(("stop", timeout))


@pytest.fixture
def docker_calls(monkeypatch):
    """Replace the Docker seam (it leaves the machine): record what would be asked of it."""
    calls = []

    class Containers:
        def get(self, container_id):
            calls.append(("get", container_id))
            return FakeContainer(calls)

    class Client:
        containers = Containers()

    @contextmanager
    def client(timeout=None):
        yield Client()

    monkeypatch.setattr(services.docker_seam, "client", client)
    return calls


def test_too_many_restarts_in_the_window_turn_restarts_off_and_stop_the_container(
    record, project, settings, docker_calls
):
    settings.DEPLOYER_CRASH_RESTARTS = 3
    settings.DEPLOYER_STOP_GRACE = 4
    record(running(restarts=1), answered(200), at=0)
    record(running(restarts=2), answered(200), at=1)
    assert docker_calls == []

    health = record(ContainerState("restarting", exit_code=3, restart_count=3), logs=["boom"], at=2)

    assert docker_calls == [
        ("get", "c0ffee"),
        ("update", {"restart_policy": {"Name": "no"}}),
        ("stop", 4),
    ]
    assert health.state == State.CRASHED
    assert health.restarts_stopped_at is not None
    assert "restarted 3 times within 10 minutes" in health.reason
    stopped = HealthEvent.objects.get(project=project, kind=Kind.RESTARTS_STOPPED)
    assert stopped.logs == "boom"


def test_restarts_older_than_the_window_do_not_count(record, settings, docker_calls):
    settings.DEPLOYER_CRASH_RESTARTS = 2
    settings.DEPLOYER_CRASH_WINDOW = 600
    record(running(restarts=1), answered(200), at=0)

    health = record(running(restarts=2), answered(200), at=11)

    assert docker_calls == []
    assert health.restarts_stopped_at is None


def test_an_app_whose_restarts_were_stopped_stays_crashed_and_down_until_a_new_deploy(
    health, live, project
):
    AppHealth.objects.filter(pk=health.pk).update(
        state=State.CRASHED, restarts_stopped_at=timezone.now()
    )
    health.refresh_from_db()

    services.record_held_crash(health, live)

    sample = HealthCheck.objects.get(project=project)
    assert (sample.state, sample.ok) == (State.CRASHED, False)


def test_a_new_deployment_starts_a_fresh_restart_count(health, live, project):
    AppHealth.objects.filter(pk=health.pk).update(
        restart_count=4, restarts_stopped_at=timezone.now(), failures=1
    )
    Deployment.objects.filter(pk=live.pk).update(state=Deployment.State.SUPERSEDED)
    newer = Deployment.objects.create(
        project=project,
        build=live.build,
        container_id="beef",
        host_port=50000,
        state=Deployment.State.LIVE,
    )

    fresh = services.health_of(newer)

    assert (fresh.deployment_id, fresh.restart_count, fresh.failures) == (newer.pk, 0, 0)
    assert fresh.restarts_stopped_at is None


def test_an_app_with_no_live_deployment_is_stopped_once(record, live, project):
    record(running(), answered(200))
    Deployment.objects.filter(pk=live.pk).update(
        state=Deployment.State.STOPPED, stop_reason="Stopped by ada."
    )

    assert services.mark_stopped_apps() == ["shop"]
    assert services.mark_stopped_apps() == []

    health = AppHealth.objects.get(project=project)
    assert health.state == State.STOPPED
    assert health.reason == "No deployment is live: Stopped by ada."
    assert (
        not NotificationDelivery.objects.exists()
        or NotificationDelivery.objects.filter(kind="health.changed").count() == 0
    )


def test_turning_unhealthy_and_back_queues_notifications_but_a_repeat_does_not(
    record, project, settings
):
    settings.DEPLOYER_MONITOR_UNHEALTHY_AFTER = 1
    record(running(), answered(200), at=0)
    assert not NotificationDelivery.objects.exists()

    record(running(), answered(503), at=1)
    record(running(), answered(503), at=2)
    record(running(), answered(200), at=3)

    subjects = list(NotificationDelivery.objects.order_by("pk").values_list("channel", "subject"))
    assert subjects == [
        ("email", "[Deployer] shop is unhealthy"),
        ("email", "[Deployer] shop is healthy again"),
    ]


def test_unreachable_engine_is_one_engine_event_and_no_app_changes(record, project, monkeypatch):
    record(running(), answered(200))
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/deployer-test.sock")

    first = services.check_all()
    second = services.check_all()

    assert "not reachable" in first.engine_error
    assert second.engine_error
    assert AppHealth.objects.get(project=project).state == State.HEALTHY
    assert HealthCheck.objects.filter(project=project).count() == 1
    engine_events = HealthEvent.objects.filter(project__isnull=True)
    assert list(engine_events.values_list("kind", flat=True)) == [Kind.ENGINE_UNREACHABLE]
    monitor = Monitor.objects.get()
    assert not monitor.engine_reachable
    assert monitor.running_since is None
    assert monitor.last_run_at is not None


def test_engine_reachable_again_is_recorded_once():
    services.record_engine("The Docker engine is not reachable (is dockerd running?).")
    services.record_engine("")
    services.record_engine("")

    kinds = list(HealthEvent.objects.order_by("created_at").values_list("kind", flat=True))
    assert kinds == [Kind.ENGINE_UNREACHABLE, Kind.ENGINE_REACHABLE]
    assert Monitor.objects.get().engine_reachable


def test_a_run_in_progress_makes_another_one_step_aside():
    Monitor.objects.create(pk=1, running_since=timezone.now())

    assert services.check_all().busy


def test_a_claim_left_by_a_dead_worker_expires():
    Monitor.objects.create(pk=1, running_since=timezone.now() - timedelta(hours=1))

    assert services._claim_run()


def test_history_is_pruned_past_its_retention(project, live, settings):
    settings.DEPLOYER_MONITOR_RETENTION_DAYS = 7
    now = timezone.now()
    for days in (1, 6, 8, 30):
        HealthCheck.objects.create(
            project=project, checked_at=now - timedelta(days=days), state=State.HEALTHY, ok=True
        )
    HealthEvent.objects.create(
        project=project, kind=Kind.STATE, created_at=now - timedelta(days=100)
    )
    HealthEvent.objects.create(
        project=project, kind=Kind.STATE, created_at=now - timedelta(days=10)
    )

    removed = services.prune_history(now)

    assert removed == {"samples": 2, "events": 1, "deliveries": 0}
    assert HealthCheck.objects.count() == 2
