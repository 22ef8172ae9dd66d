"""How many web containers a build starts, and what they are called."""

from __future__ import annotations

import pytest

from builds import runner
from projects import services as project_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(user):
    return project_services.create_project(user, slug="shop", repo_url="https://e.com/a.git")


def test_a_build_starts_the_projects_replicas(project):
    project.web_replicas = 3
    said = []

    assert runner.web_replicas(project, said.append) == 3
    assert said == []


def test_replicas_above_a_lowered_maximum_are_capped_and_the_log_says_so(project, settings):
    project.web_replicas = 4
    settings.DEPLOYER_MAX_REPLICAS = 2
    said = []

    assert runner.web_replicas(project, said.append) == 2
    assert "DEPLOYER_MAX_REPLICAS" in said[0]


def test_the_primary_replica_keeps_the_builds_container_name(project):
    assert runner.container_name(project, 42) == "deployer-shop-42"
    assert runner.container_name(project, 42, 1) == "deployer-shop-42-r2"
