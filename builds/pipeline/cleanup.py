"""Remove what Deployer made and no longer needs, selected by its labels only."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import docker
from docker import errors as docker_errors

from builds.docker import (
    LABEL_BUILD,
    LABEL_MANAGED,
    LABEL_PROJECT,
    LABEL_ROLE,
    belongs,
    containers,
)


def prune_project_images(
    client: docker.DockerClient,
    project: str,
    *,
    keep_build_ids: Iterable[int],
    installation: str,
    log: Callable[[str], None] = lambda _: None,
) -> list[str]:
    """Remove the project's images except those of `keep_build_ids`; return the removed tags.

    Only this installation's images (another installation on the engine may have a project
    of the same name), and only tagged ones: an untagged image carrying the project's labels
    may be the step a build of the project is committing right now (the classic builder's
    intermediate images inherit the labels), and removing it fails that build ("unknown
    parent image ID"). Untagged leftovers go with housekeeping's dangling prune, which waits
    for no build to be running. An image still used by a container is left alone (the
    engine refuses, and that is fine).
    """
    keep = {str(pk) for pk in keep_build_ids}
    removed = []
    images = client.images.list(
        filters={"label": [f"{LABEL_MANAGED}=1", f"{LABEL_PROJECT}={project}"]}
    )
    for image in images:
        if not belongs(image.labels, installation) or not image.tags:
            continue
        if keep & {build_of(tag) for tag in image.tags} or image.labels.get(LABEL_BUILD) in keep:
            continue
        try:
            client.images.remove(image.id, force=False, noprune=False)
        except docker_errors.APIError:
            continue
        removed.extend(image.tags or [image.short_id])
    if removed:
        log(f"Removed {len(removed)} old image(s): {', '.join(removed)}")
    return removed


def remove_leftover_containers(
    client: docker.DockerClient, *, keep_ids: Iterable[str], installation: str
) -> list[str]:
    """Remove this installation's containers that no live deployment owns (release and
    failed ones); another installation's are never touched."""
    keep = set(keep_ids)
    removed = []
    for container in containers(client, f"{LABEL_MANAGED}=1"):
        # Add-ons (a project's database) are not deployments: they live until removed.
        if container.id in keep or container.labels.get(LABEL_ROLE) in ("base-image", "addon"):
            continue
        if not belongs(container.labels, installation):
            continue
        try:
            container.remove(v=True, force=True)
        except docker_errors.NotFound:
            continue
        removed.append(container.name)
    return removed


def build_of(tag: str) -> str:
    """The build id in a `deployer/<project>:<build>-<secret>` tag (or an older `:<build>`)."""
    return tag.rpartition(":")[2].partition("-")[0]
