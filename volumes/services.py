"""Volumes: add and remove a project's persistent volumes, mount them into its app's
containers, measure them.

The rows are the web process's; the engine volumes are the worker's (the web process need
not reach the engine): a deploy creates the engine volume on first use and mounts it in the
release and web containers, so a file written there outlives every container, redeploy and
rollback. Removing one detaches it (it is no longer mounted) and the worker removes the
engine volume as soon as no container holds it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.utils import timezone
from docker import errors as docker_errors
from docker.types import Mount

from builds.docker import LABEL_ROLE, describe_error
from builds.fences import operator_fence
from builds.installation import project_labels
from builds.pipeline import fence, volume
from builds.pipeline.errors import StageError
from projects import audit
from projects.models import Project
from volumes import paths
from volumes.models import Volume

ROLE = "app-volume"
MAX_PER_PROJECT = 10
# Where the one-off container that gives a new volume to the app's user mounts it.
SETUP_MOUNT = "/deployer-volume"


class VolumeError(Exception):
    """A request about a volume that cannot be done, in one sentence."""


def add_volume(project: Project, name: str, path: str, *, actor=None) -> Volume:
    """Record a volume of the project at `path` (mounted from its next deploy on).

    Raises django's ValidationError for a bad name or path, VolumeError for a name or path
    the project uses already.
    """
    name, path = paths.clean_name(name), paths.clean_path(path)
    live = project.volumes.filter(removing_at__isnull=True)
    if live.count() >= MAX_PER_PROJECT:
        raise VolumeError(f"A project has at most {MAX_PER_PROJECT} volumes.")
    for other in live:
        if paths.overlaps(path, other.path):
            raise VolumeError(
                f"{path} overlaps the volume {other.name} at {other.path}: one would hide the "
                "other."
            )
    engine_name = f"deployer-vol-{project.slug}-{name}-{secrets.token_hex(3)}"
    try:
        with transaction.atomic():
            created = Volume.objects.create(
                project=project, name=name, path=path, engine_name=engine_name
            )
            audit.record(
                project, audit.Action.SETTINGS, actor=actor, summary=f"volume {name} at {path}"
            )
    except IntegrityError:
        raise VolumeError(
            f"The project {project.slug} has a volume named {name} already."
        ) from None
    return created


def request_removal(vol: Volume, confirm: str, *, actor=None) -> None:
    """Detach the volume (not mounted from the next deploy on) and mark it for removal;
    `confirm` must be its name. Raises VolumeError otherwise."""
    if confirm.strip() != vol.name:
        raise VolumeError(f"To remove the volume {vol.name} and its data, type {vol.name}.")
    with transaction.atomic():
        Volume.objects.filter(pk=vol.pk, removing_at__isnull=True).update(
            removing_at=timezone.now()
        )
        audit.record(
            vol.project, audit.Action.SETTINGS, actor=actor, summary=f"volume {vol.name} removed"
        )


def mounts(project: Project) -> tuple[Mount, ...]:
    """The engine mounts of the project's volumes, for its release and web containers."""
    return tuple(
        Mount(target=v.path, source=v.engine_name, type="volume")
        for v in project.volumes.filter(removing_at__isnull=True)
    )


def prepare(
    client, project: Project, *, image: str, user: str | None, log: Callable[[str], None]
) -> None:
    """Create the project's engine volumes that do not exist yet and give each new one to
    the user the app runs as (`user`, or the image's own), so the app can write there.

    Raises StageError when the engine refuses.
    """
    labels = {**project_labels(project.slug), LABEL_ROLE: ROLE}
    owner = user or fence.image_user(client, image)
    for v in project.volumes.filter(removing_at__isnull=True):
        created = volume.ensure_volume(client, v.engine_name, project.slug, labels)
        if created and not fence.runs_as_root(owner):
            try:
                _give_to(client, project, image, v, owner)
            except StageError:
                # Created but not the app's: gone again, so the next deploy tries afresh
                # instead of mounting a folder the app cannot write.
                client.api.remove_volume(v.engine_name, force=True)
                raise
        log(f"{'Created' if created else 'Mounting'} the volume {v.name} at {v.path}")


def _give_to(client, project: Project, image: str, v: Volume, owner: str) -> None:
    """chown the new volume's root to the app's user in a one-off container of the app's
    image: root with CHOWN alone, no network, nothing but the volume mounted."""
    limits = operator_fence(
        "none",
        64,
        user="0:0",
        cap_add=("CHOWN",),
        mounts=(Mount(target=SETUP_MOUNT, source=v.engine_name, type="volume"),),
    )
    labels = {**project_labels(project.slug), LABEL_ROLE: "volume-setup"}
    try:
        container_id = client.api.create_container(
            image,
            entrypoint=["chown", owner, SETUP_MOUNT],
            command=[],
            user="0:0",
            labels=labels,
            host_config=client.api.create_host_config(**fence.host_config(limits)),
        )["Id"]
    except docker_errors.DockerException as exc:
        raise StageError(f"The volume {v.name} could not be set up: {describe_error(exc)}") from exc
    try:
        client.api.start(container_id)
        code = client.api.wait(container_id, timeout=60).get("StatusCode")
        if code != 0:
            said = client.api.logs(container_id).decode("utf-8", "replace").strip()[:300]
            raise StageError(
                f"The volume {v.name} could not be given to the app's user {owner} "
                f"(chown exited {code}: {said}). The image needs chown and that user."
            )
    except docker_errors.DockerException as exc:
        raise StageError(f"The volume {v.name} could not be set up: {describe_error(exc)}") from exc
    finally:
        client.api.remove_container(container_id, v=True, force=True)


def settle(client) -> dict[str, int]:
    """The worker's round: remove the engine volumes whose removal was asked for (and their
    rows) once no container holds them, and measure every volume. Returns counts."""
    removed = waiting = 0
    for v in Volume.objects.filter(removing_at__isnull=False).select_related("project"):
        try:
            client.api.remove_volume(v.engine_name)
        except docker_errors.NotFound:
            pass
        except docker_errors.APIError as exc:
            if exc.status_code == 409:  # still mounted by the live container: after a deploy
                waiting += 1
                continue
            raise
        v.delete()
        removed += 1
    return {"removed": removed, "waiting": waiting, "measured": measure(client)}


def measure(client) -> int:
    """Store each volume's size as the engine counts it (`docker system df -v`)."""
    sizes = {
        item.get("Name"): (item.get("UsageData") or {}).get("Size")
        for item in (client.df().get("Volumes") or [])
    }
    now = timezone.now()
    measured = 0
    for v in Volume.objects.filter(engine_name__in=[n for n in sizes if n]):
        size = sizes[v.engine_name]
        if isinstance(size, int) and size >= 0:
            Volume.objects.filter(pk=v.pk).update(size=size, measured_at=now)
            measured += 1
    return measured
