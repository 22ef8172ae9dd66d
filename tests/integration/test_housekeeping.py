"""Housekeeping on the real engine: a failed build's image and dangling images of this
installation go; the rollback window, the live app and another installation's images stay."""

from __future__ import annotations

import io

import pytest

from builds.docker import LABEL_BUILD, LABEL_INSTALLATION, LABEL_MANAGED, LABEL_PROJECT
from builds.installation import installation_id
from builds.models import Build
from deployer import housekeeping
from tests.integration.apps import FLASK_APP
from tests.integration.conftest import TEST_LABEL, deploy, http_get

pytestmark = pytest.mark.django_db(transaction=True)


def _image(docker_client, tag: str, labels: dict[str, str], step: str) -> str:
    dockerfile = f"FROM python:3.11-slim\nRUN echo {step} > /step\n".encode()
    image, _ = docker_client.images.build(
        fileobj=io.BytesIO(dockerfile), tag=tag, labels=labels, rm=True
    )
    return image.id


def test_housekeeping_removes_what_this_installation_no_longer_needs(
    celery_worker, git_repo, make_project, docker_client
):
    project = make_project(git_repo(FLASK_APP))
    live = deploy(project)
    assert live.state == Build.State.LIVE
    failed = Build.objects.create(project=project, state=Build.State.FAILED)
    ours = {
        LABEL_MANAGED: "1",
        LABEL_PROJECT: project.slug,
        LABEL_INSTALLATION: installation_id(),
        TEST_LABEL: "1",
    }
    failed_image = _image(
        docker_client,
        f"deployer/{project.slug}:{failed.pk}-0",
        {**ours, LABEL_BUILD: str(failed.pk)},
        "f",
    )
    theirs = _image(
        docker_client,
        f"deployer/{project.slug}:{failed.pk}-theirs",
        {**ours, LABEL_INSTALLATION: "another-deployer", LABEL_BUILD: str(failed.pk)},
        "t",
    )

    report = housekeeping.run(docker_client)

    assert f"deployer/{project.slug}:{failed.pk}-0" in report.removed_images
    remaining = {image.id for image in docker_client.images.list(name=f"deployer/{project.slug}")}
    assert failed_image not in remaining
    assert theirs in remaining  # another installation's image is never touched
    assert docker_client.images.get(live.image_id)  # the live build's image stays
    port = project.deployments.get(state="live").host_port
    assert http_get(port) == (200, "hello from v1")
    project.refresh_from_db()
    assert project.images_bytes >= docker_client.images.get(live.image_id).attrs["Size"]
    docker_client.images.remove(theirs, force=True)
