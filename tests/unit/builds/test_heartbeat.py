"""heartbeat(): a running build's heartbeat, which stops at the task's hard time limit."""

from __future__ import annotations

import time

import pytest

from builds.models import Build
from builds.stages import heartbeat
from projects import services as project_services

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def build(user):
    project = project_services.create_project(
        user, slug="beats", repo_url="https://example.com/a.git"
    )
    return Build.objects.create(project=project, state=Build.State.BUILDING)


def _heartbeat_at(build: Build):
    return Build.objects.values_list("heartbeat_at", flat=True).get(pk=build.pk)


def test_a_running_build_beats_while_it_runs(build, settings):
    settings.DEPLOYER_BUILD_HEARTBEAT_SECONDS = 0.05

    with heartbeat(build):
        time.sleep(0.3)
        first = _heartbeat_at(build)
        time.sleep(0.3)
        second = _heartbeat_at(build)

    assert first is not None
    assert second > first


def test_a_build_still_running_past_the_hard_time_limit_stops_beating(build, settings):
    """A pool thread cannot be killed: without heartbeats the reaper fails the build."""
    settings.DEPLOYER_BUILD_HEARTBEAT_SECONDS = 0.05
    settings.CELERY_TASK_TIME_LIMIT = 0.3

    with heartbeat(build):
        time.sleep(0.6)  # past the limit
        last = _heartbeat_at(build)
        time.sleep(0.4)
        later = _heartbeat_at(build)

    assert last is not None
    assert later == last
