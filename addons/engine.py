"""The engine's side of an add-on: its image, volume and container on the project's network.

An add-on container is fenced like an app's (builds/pipeline/fence.py): the project's own
network and no other, no published port (only the project's containers reach it, by its
container name), no capabilities, no new privileges, pids, CPU, memory and log limits, and
the image's database user (uid 999) rather than root. Its data lives on a named volume of the
engine, labelled with the project, so it survives the container and is removed with the
project. Raises StageError with one sentence for anything the engine refuses.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import docker
from docker import errors as docker_errors
from docker.types import Mount

from builds.docker import LABEL_PROJECT, LABEL_ROLE, describe_error, run_in
from builds.pipeline import fence, volume
from builds.pipeline.errors import StageError

ROLE = "addon"
POSTGRES_PORT = 5432
POSTGRES_UID = "999:999"  # the official image's postgres user, and the stand-in's


@dataclass(frozen=True)
class Spec:
    """One add-on container: what to run and where."""

    project: str
    image: str
    container_name: str
    volume_name: str
    environment: dict[str, str]
    fence: fence.Fence
    project_labels: dict[str, str]
    command: list[str] | None = None

    @property
    def labels(self) -> dict[str, str]:
        return {**self.project_labels, LABEL_ROLE: ROLE}


def ensure_image(client: docker.DockerClient, image: str) -> None:
    """The add-on's image on the engine: present, or pulled; else one sentence on what to do."""
    try:
        client.images.get(image)
        return
    except docker_errors.ImageNotFound:
        pass
    except docker_errors.DockerException as exc:
        raise StageError(
            f"The image {image} could not be looked up: {describe_error(exc)}"
        ) from exc
    try:
        client.images.pull(image)
    except docker_errors.DockerException as exc:
        raise StageError(
            f"The add-on's image {image} is not on this Docker engine and could not be pulled "
            f"({describe_error(exc)}). Where no registry is reachable, build the local stand-in "
            "with scripts/service-images.sh, or set DEPLOYER_ADDON_POSTGRES_IMAGE or "
            "DEPLOYER_ADDON_REDIS_IMAGE."
        ) from exc


def start(client: docker.DockerClient, spec: Spec) -> str:
    """Create (or keep) the add-on's volume and start its container; returns the container id.

    A container of that name that exists already is started if it stopped, not replaced, so
    asking twice is harmless.
    """
    try:
        existing = client.api.inspect_container(spec.container_name)
    except docker_errors.NotFound:
        existing = None
    except docker_errors.DockerException as exc:
        raise StageError(
            f"The add-on {spec.container_name} could not be looked up: {describe_error(exc)}"
        ) from exc
    try:
        if existing is not None:
            if (existing["Config"].get("Labels") or {}).get(LABEL_PROJECT) != spec.project:
                raise StageError(
                    f"A container named {spec.container_name} exists but is not this project's."
                )
            if not existing["State"].get("Running"):
                client.api.start(existing["Id"])
            return existing["Id"]
        volume.ensure_volume(client, spec.volume_name, spec.project, spec.labels)
        config = client.api.create_host_config(
            restart_policy={"Name": "unless-stopped"}, init=True, **fence.host_config(spec.fence)
        )
        container_id = client.api.create_container(
            spec.image,
            command=spec.command,
            name=spec.container_name,
            environment=spec.environment,
            labels=spec.labels,
            user=spec.fence.user,
            host_config=config,
        )["Id"]
        client.api.start(container_id)
        return container_id
    except docker_errors.DockerException as exc:
        raise StageError(
            f"The add-on {spec.container_name} could not be started: {describe_error(exc)}"
        ) from exc


def data_mount(volume_name: str, target: str) -> Mount:
    return Mount(target=target, source=volume_name, type="volume")


def wait_until_ready(
    client: docker.DockerClient, container_name: str, command: list[str], *, timeout: float
) -> None:
    """Until `command` (kinds.ready_command) succeeds inside the container.

    Raises StageError with the container's last log lines when it stops or does not answer.
    """
    deadline = time.monotonic() + timeout
    while True:
        state = status(client, container_name)
        if state != "running":
            raise StageError(
                f"The add-on {container_name} stopped while starting ({state}). Its last lines: "
                f"{last_lines(client, container_name)}"
            )
        if _exec(client, container_name, command) == 0:
            return
        if time.monotonic() > deadline:
            raise StageError(
                f"The add-on {container_name} did not accept connections within {timeout:.0f} s. "
                f"Its last lines: {last_lines(client, container_name)}"
            )
        time.sleep(0.5)


def status(client: docker.DockerClient, container_name: str) -> str:
    """The container's state as the engine says it ("running", "exited", ...), or "missing"."""
    try:
        return client.api.inspect_container(container_name)["State"]["Status"]
    except docker_errors.NotFound:
        return "missing"


def is_ready(client: docker.DockerClient, container_name: str, command: list[str]) -> bool:
    return (
        status(client, container_name) == "running" and _exec(client, container_name, command) == 0
    )


def last_lines(client: docker.DockerClient, container_name: str, count: int = 5) -> str:
    try:
        text = client.api.logs(container_name, tail=count).decode("utf-8", "replace")
    except docker_errors.DockerException:
        return "(none)"
    return " | ".join(line.strip() for line in text.splitlines() if line.strip())[:1000] or "(none)"


def remove(client: docker.DockerClient, container_name: str, volume_name: str | None) -> None:
    """Remove the container, and the volume when named (its data goes with it)."""
    try:
        client.api.remove_container(container_name, v=True, force=True)
    except docker_errors.NotFound:
        pass
    if volume_name:
        try:
            client.api.remove_volume(volume_name, force=True)
        except docker_errors.NotFound:
            pass


def _exec(client: docker.DockerClient, container_name: str, command: list[str]) -> int | None:
    try:
        return run_in(client, container_name, command).exit_code
    except docker_errors.DockerException:
        return None
