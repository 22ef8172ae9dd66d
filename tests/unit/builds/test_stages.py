"""stage(): a stage's failure becomes the build's outcome, with its stage and one readable reason."""

from __future__ import annotations

import pytest
import requests
from docker import errors as docker_errors

from builds.buildlog import BuildLog
from builds.models import Build
from builds.pipeline.errors import StageError
from builds.stages import BuildStopped, stage
from projects import services as project_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def build(user):
    project = project_services.create_project(
        user, slug="stages", repo_url="https://example.com/a.git"
    )
    return Build.objects.create(project=project, state=Build.State.CLONING)


def _fail_in_stage(build: Build, exc: BaseException) -> Build:
    log = BuildLog(build)
    with pytest.raises(BuildStopped), stage(build, Build.State.SWITCHING, log):
        raise exc
    log.close()
    build.refresh_from_db()
    return build


def test_an_engine_refusal_is_one_sentence_in_the_engines_words(build):
    refused = docker_errors.APIError(
        "500 Server Error", explanation="driver failed programming external connectivity"
    )

    failed = _fail_in_stage(build, refused)

    assert (failed.state, failed.failure_stage) == ("failed", "switching")
    assert failed.failure_reason == (
        "The Docker engine refused: driver failed programming external connectivity"
    )


def test_a_lost_engine_connection_says_so_not_internal_error(build):
    failed = _fail_in_stage(build, requests.exceptions.ConnectionError("socket closed"))

    assert failed.failure_reason == "The Docker engine is not reachable (is dockerd running?)."


def test_a_stage_error_keeps_its_message_and_a_bug_is_named_internal(build):
    assert _fail_in_stage(build, StageError("No app found.")).failure_reason == "No app found."

    other = Build.objects.create(project=build.project, state=Build.State.CLONING)
    failed = _fail_in_stage(other, KeyError("plan"))
    assert failed.failure_reason == "Deployer hit an internal error (KeyError: 'plan')."
