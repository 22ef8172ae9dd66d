"""Unguessable image tags keep cleanup working: prune reads the build back from the tag."""

from __future__ import annotations

import io
import os

import pytest

from builds.images import image_tag
from builds.installation import installation_id
from builds.pipeline.cleanup import prune_project_images
from tests.integration.conftest import TEST_LABEL, remove_labelled


@pytest.fixture
def slug(docker_client):
    name = f"tags{os.getpid()}"
    yield name
    remove_labelled(docker_client, f"org.deployer.project={name}")


def test_prune_keeps_the_builds_it_is_told_to_keep_by_their_unguessable_tags(docker_client, slug):
    labels = {"org.deployer.managed": "1", "org.deployer.project": slug, TEST_LABEL: "1"}
    tags = {}
    for build in (1, 2, 3):
        tags[build] = image_tag(slug, build)
        # A different step per build, so each tag is its own image.
        dockerfile = f"FROM python:3.11-slim\nRUN echo {build} > /build\n".encode()
        docker_client.images.build(
            fileobj=io.BytesIO(dockerfile), tag=tags[build], labels=labels, rm=True
        )

    removed = prune_project_images(
        docker_client, slug, keep_build_ids=[2, 3], installation=installation_id()
    )

    assert removed == [tags[1]]
    left = {t for image in docker_client.images.list(name=f"deployer/{slug}") for t in image.tags}
    assert left == {tags[2], tags[3]}


def test_prune_never_removes_an_untagged_step_a_build_may_be_committing(docker_client, slug):
    labels = {"org.deployer.managed": "1", "org.deployer.project": slug, TEST_LABEL: "1"}
    dockerfile = f"FROM python:3.11-slim\nRUN echo {slug} > /step\n".encode()
    step, _ = docker_client.images.build(fileobj=io.BytesIO(dockerfile), labels=labels, rm=True)
    assert not step.tags  # what the classic builder leaves between two steps of a build

    removed = prune_project_images(
        docker_client, slug, keep_build_ids=[], installation=installation_id()
    )

    assert removed == []
    assert docker_client.images.get(step.id)
