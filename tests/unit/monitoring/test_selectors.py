from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from monitoring import selectors, services
from monitoring.models import AppHealth, HealthCheck, HealthEvent, HealthState, Monitor
from projects import services as project_services

pytestmark = pytest.mark.django_db

State = HealthState


def stored(project, state, *, checked_ago=timedelta(seconds=5), reason="why"):
    now = timezone.now()
    return AppHealth.objects.create(
        project=project,
        state=state,
        reason=reason,
        since=now - timedelta(hours=1),
        checked_at=now - checked_ago,
    )


def test_a_project_never_checked_is_unknown(project):
    health = selectors.current_health(project)

    assert (health.state, health.reason) == (State.UNKNOWN, "Not checked yet.")


def test_the_stored_state_and_reason_are_shown(project):
    stored(project, State.OOM_KILLED, reason="out of memory")

    health = selectors.current_health(project)

    assert (health.state, health.label, health.tone) == (State.OOM_KILLED, "Out of memory", "bad")
    assert health.reason == "out of memory"


@pytest.mark.parametrize(
    ("state", "problem"),
    [
        (State.HEALTHY, ""),
        (State.UNHEALTHY, "unhealthy"),
        (State.CRASHED, "crashed"),
        (State.OOM_KILLED, "crashed"),
        (State.STOPPED, ""),
    ],
)
def test_problem_names_what_the_overview_badge_shows(project, state, problem):
    stored(project, state)

    assert selectors.current_health(project).problem == problem


def test_while_the_engine_is_unreachable_apps_are_unknown_not_crashed(project):
    stored(project, State.HEALTHY)
    services.record_engine("The Docker engine is not reachable (is dockerd running?).")

    health = selectors.current_health(project)

    assert health.state == State.UNKNOWN
    assert health.last_known == State.HEALTHY
    assert "Docker engine has been unreachable" in health.reason
    assert "Last known: healthy" in health.reason
    assert AppHealth.objects.get(project=project).state == State.HEALTHY


def test_when_checks_stop_running_the_state_becomes_unknown(project, settings):
    settings.DEPLOYER_MONITOR_INTERVAL = 30
    stored(project, State.HEALTHY, checked_ago=timedelta(minutes=10))

    health = selectors.current_health(project)

    assert health.state == State.UNKNOWN
    assert "Celery worker and beat" in health.reason


def test_a_stopped_app_stays_stopped_whatever_the_engine(project):
    stored(project, State.STOPPED, checked_ago=timedelta(days=3))
    Monitor.objects.create(pk=1, engine_reachable=False)

    assert selectors.current_health(project).state == State.STOPPED


def test_health_of_many_projects_takes_two_queries(project, user, django_assert_num_queries):
    others = [
        project_services.create_project(user, slug=f"app{i}", repo_url="https://example.com/a.git")
        for i in range(5)
    ]
    for other in others:
        stored(other, State.HEALTHY)

    with django_assert_num_queries(2):
        found = selectors.health_by_project([project.pk, *(p.pk for p in others)])

    assert found[project.pk].state == State.UNKNOWN
    assert {found[p.pk].state for p in others} == {State.HEALTHY}


def test_panel_has_uptime_over_a_day_and_a_week_and_the_chart(project):
    now = timezone.now()
    for hours, ok in [(1, True), (2, True), (3, False), (4, True), (48, False), (49, False)]:
        HealthCheck.objects.create(
            project=project,
            checked_at=now - timedelta(hours=hours),
            state=State.HEALTHY,
            ok=ok,
            latency_ms=25.0 if ok else None,
        )
    HealthCheck.objects.create(
        project=project, checked_at=now - timedelta(days=9), state=State.HEALTHY, ok=False
    )

    context = selectors.panel(project, now=now)

    assert context["uptime_day"] == "75.00 %"
    assert context["uptime_week"] == "50.00 %"
    assert (context["checks_day"], context["checks_week"]) == (4, 6)
    assert context["chart"].startswith("<svg")


def test_panel_lists_the_projects_events_and_engine_events_newest_first(project, user):
    other = project_services.create_project(
        user, slug="other", repo_url="https://example.com/a.git"
    )
    now = timezone.now()
    HealthEvent.objects.create(
        project=project, kind="state", state="healthy", created_at=now - timedelta(minutes=3)
    )
    HealthEvent.objects.create(
        project=None, kind="engine_unreachable", created_at=now - timedelta(minutes=2)
    )
    HealthEvent.objects.create(
        project=other, kind="state", state="crashed", created_at=now - timedelta(minutes=1)
    )

    events = list(selectors.panel(project, now=now)["events"])

    assert [e.kind for e in events] == ["engine_unreachable", "state"]
