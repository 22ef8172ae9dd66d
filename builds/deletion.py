"""Deleting a project: its builds stop, its containers, images, networks and volumes go
(with its secrets and data), then its git mirror, its rows and its route. The web process asks; the worker,
which holds the engine, does it, and tries again while the engine cannot be reached."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from builds import docker as docker_seam
from builds import mirrors
from builds.installation import installation_id
from builds.models import Build
from builds.services import cancel_build
from deployer.celery import task
from projects import audit
from projects.models import Project
from routing import services as routing


def request_deletion(project: Project, *, actor=None) -> None:
    """Mark the project as being deleted and ask the worker to do it (the web process may
    have no access to the engine). Queued and running builds are cancelled now; deploys and
    pushes are refused from here on."""
    with transaction.atomic():
        Project.objects.filter(pk=project.pk).update(deleting_at=timezone.now())
        audit.record(project, audit.Action.DELETE, actor=actor)
        for build in project.builds.filter(state__in=Build.ACTIVE_STATES):
            cancel_build(build, reason="The project is being deleted.")
        transaction.on_commit(lambda: task("builds.tasks.delete_project").delay(project.pk))


def delete_project(project: Project, *, keep_row_on_failure: bool = False, actor=None) -> list[str]:
    """Remove the project's containers, images, networks and volumes (its data), then the
    project itself.

    Returns one sentence per Docker resource that could not be removed (e.g. the engine is
    down); the project is deleted either way, unless `keep_row_on_failure` (the worker's
    deletion keeps the row, marked deleting, to try again: its containers hold its secrets).
    """
    if actor is not None:  # asked here, not through request_deletion (which recorded it)
        audit.record(project, audit.Action.DELETE, actor=actor)
    problems: list[str] = []
    # Its pull requests' previews (child projects) go first: their rows would go with the
    # project's, leaving their containers behind.
    for child in project.children.all():
        problems += delete_project(child, keep_row_on_failure=keep_row_on_failure)
    for build in project.builds.filter(state__in=Build.ACTIVE_STATES):
        cancel_build(build, reason="The project was deleted.")
    problems += remove_docker_resources(project.slug)
    if problems and keep_row_on_failure:
        return problems
    mirrors.remove(project.pk)  # this host's; other worker hosts' go with housekeeping
    with transaction.atomic():
        # Rows that name the project (health samples, deliveries) wait for this lock, so none
        # can slip in between collecting the related rows and deleting the project.
        list(Project.objects.select_for_update().filter(pk=project.pk).values_list("pk"))
        project.delete()
    routing.remove_project(project)
    return problems


def remove_docker_resources(slug: str) -> list[str]:
    label = f"{docker_seam.LABEL_PROJECT}={slug}"
    problems: list[str] = []
    try:
        with docker_seam.client() as client:
            ours = installation_id()
            for container in docker_seam.containers(client, label):
                if docker_seam.belongs(container.labels, ours):
                    _remove(problems, f"container {container.name}", container.remove, force=True)
            for image in client.images.list(filters={"label": label}):
                if docker_seam.belongs(image.labels, ours):
                    _remove(
                        problems, f"image {image.short_id}", client.images.remove, image.id, True
                    )
            for network in client.networks.list(filters={"label": label}):
                if docker_seam.belongs(network.attrs.get("Labels"), ours):
                    _remove(problems, f"network {network.name}", network.remove)
            for volume in client.volumes.list(filters={"label": label}):
                if docker_seam.belongs(volume.attrs.get("Labels"), ours):
                    _remove(problems, f"volume {volume.name}", volume.remove, force=True)
    except Exception as exc:  # noqa: BLE001 - an unreachable engine is reported, not raised
        problems.append(
            f"Containers and images labelled {label} could not be removed: "
            f"{docker_seam.describe_error(exc)}"
        )
    return problems


def _remove(problems: list[str], what: str, remove, *args, **kwargs) -> None:
    try:
        remove(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - one stuck resource must not stop the others
        problems.append(f"The {what} could not be removed: {docker_seam.describe_error(exc)}")
