"""At worker start the database and the Docker engine are made to agree, by label."""

from __future__ import annotations

import pytest

from builds import services
from builds.docker import LABEL_BUILD, LABEL_MANAGED, LABEL_PROJECT, LABEL_ROLE
from builds.models import Build, Deployment
from tests.integration.apps import FLASK_APP
from tests.integration.conftest import TEST_LABEL, deploy

pytestmark = pytest.mark.django_db(transaction=True)


def test_leftover_containers_are_removed_and_the_live_one_is_kept(
    celery_worker, git_repo, make_project, docker_client
):
    project = make_project(git_repo(FLASK_APP))
    live = deploy(project)
    assert live.state == Build.State.LIVE
    leftover = docker_client.containers.create(
        "python:3.11-slim",
        ["sleep", "600"],
        labels={
            LABEL_MANAGED: "1",
            LABEL_PROJECT: project.slug,
            LABEL_BUILD: "999999",
            LABEL_ROLE: "release",
            TEST_LABEL: "1",
        },
    )

    result = services.reconcile_with_engine()

    assert leftover.name in result["removed_containers"]
    live_container = Deployment.objects.get(build=live).container_id
    assert docker_client.containers.get(live_container).status == "running"


def test_a_live_deployment_whose_container_vanished_is_marked_stopped(
    celery_worker, git_repo, make_project, docker_client
):
    project = make_project(git_repo(FLASK_APP))
    build = deploy(project)
    deployment = Deployment.objects.get(build=build)
    docker_client.containers.get(deployment.container_id).remove(v=True, force=True)

    result = services.reconcile_with_engine()

    deployment.refresh_from_db()
    assert deployment.pk in result["missing_deployments"]
    assert deployment.state == Deployment.State.STOPPED
    assert "no longer exists" in deployment.stop_reason


def test_containers_of_projects_this_database_does_not_know_are_left_alone(
    celery_worker, docker_client
):
    stranger = docker_client.containers.create(
        "python:3.11-slim",
        ["sleep", "600"],
        labels={
            LABEL_MANAGED: "1",
            LABEL_PROJECT: "another-installation",
            LABEL_BUILD: "1",
            LABEL_ROLE: "web",
            TEST_LABEL: "1",
        },
    )

    result = services.reconcile_with_engine()

    assert stranger.name not in result["removed_containers"]
    assert docker_client.containers.get(stranger.id).status == "created"


def test_another_installations_containers_images_and_volumes_are_left_alone(
    celery_worker, git_repo, make_project, docker_client
):
    from builds import deletion
    from builds.docker import LABEL_INSTALLATION
    from builds.installation import installation_id

    project = make_project(git_repo(FLASK_APP))
    assert deploy(project).state == Build.State.LIVE
    # A second Deployer on this engine with a project of the same name, and one of ours
    # left over: reconcile and deletion take ours only.
    theirs = {
        LABEL_MANAGED: "1",
        LABEL_PROJECT: project.slug,
        LABEL_BUILD: "7",
        LABEL_ROLE: "release",
        LABEL_INSTALLATION: "another-deployer",
        TEST_LABEL: "1",
    }
    foreign = docker_client.containers.create("python:3.11-slim", ["sleep", "600"], labels=theirs)
    foreign_volume = docker_client.volumes.create(f"theirs-{project.slug}", labels=theirs)
    ours = docker_client.containers.create(
        "python:3.11-slim",
        ["sleep", "600"],
        labels={**theirs, LABEL_INSTALLATION: installation_id()},
    )

    result = services.reconcile_with_engine()

    assert ours.name in result["removed_containers"]
    assert foreign.name not in result["removed_containers"]
    problems = deletion.delete_project(project)
    assert problems == []
    assert docker_client.containers.get(foreign.id).status == "created"
    assert docker_client.volumes.get(foreign_volume.name).name == foreign_volume.name
    assert not docker_client.containers.list(
        all=True,
        filters={
            "label": [
                f"{LABEL_PROJECT}={project.slug}",
                f"{LABEL_INSTALLATION}={installation_id()}",
            ]
        },
    )
    foreign.remove(v=True, force=True)
    foreign_volume.remove(force=True)
