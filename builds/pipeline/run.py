"""Start an app's container: its environment, its fence (fence.py), a restart policy, a loopback-only port."""

from __future__ import annotations

import socket
from dataclasses import dataclass

import docker
from docker import errors as docker_errors

from builds.pipeline.errors import StageError
from builds.pipeline.fence import Fence, host_config

LOG_TAIL_LINES = 40
PORT_ATTEMPTS = 5


@dataclass(frozen=True)
class Started:
    container_id: str
    name: str
    host_port: int


def start_container(
    client: docker.DockerClient,
    image: str,
    *,
    name: str,
    environment: dict[str, str],
    labels: dict[str, str],
    container_port: int,
    fence: Fence,
) -> Started:
    """Run `image` detached, publishing `container_port` on a free port of 127.0.0.1 only.

    The port is picked here, as the kernel picks an ephemeral one, and pinned: left to
    Docker, an ephemeral binding gets a new port each time the restart policy restarts a
    crashed container, which would move the app away from its route and health checks.
    The environment (the project's variables, decrypted, plus PORT) is given to the
    container at run time and never enters the image. The container joins the project's
    network with the fence's limits and user (fence.py). Raises StageError when the engine
    refuses to create or start the container.
    """
    api = client.api
    for attempt in range(1, PORT_ATTEMPTS + 1):
        host_port = free_port()
        try:
            # The low-level calls: create and start, without the two inspections
            # containers.run() adds (the published port is the one asked for, or start fails).
            config = api.create_host_config(
                port_bindings={container_port: ("127.0.0.1", host_port)},
                restart_policy={"Name": "unless-stopped"},
                init=True,
                **host_config(fence, booting=True),  # its CPU limit once it answers
            )
            container_id = api.create_container(
                image,
                name=name,
                environment={**environment, "PORT": str(container_port)},
                labels=labels,
                ports=[container_port],
                user=fence.user,
                host_config=config,
            )["Id"]
            api.start(container_id)
        except docker_errors.APIError as exc:
            if _port_taken(exc) and attempt < PORT_ATTEMPTS:
                # Another process took the port in between: the created container goes too.
                remove_named(client, name)
                continue
            raise StageError(
                f"The container could not be started: {exc.explanation or exc}"
            ) from exc
        return Started(container_id, name, host_port)
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def free_port() -> int:
    """A port of 127.0.0.1 that nothing is bound to now, chosen by the kernel."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _port_taken(exc: docker_errors.APIError) -> bool:
    text = str(exc.explanation or exc)
    return "port is already allocated" in text or "address already in use" in text


def remove_named(client: docker.DockerClient, name: str) -> None:
    try:
        client.containers.get(name).remove(v=True, force=True)
    except docker_errors.NotFound:
        pass


def tail_logs(
    client: docker.DockerClient, container_id: str, lines: int = LOG_TAIL_LINES
) -> list[str]:
    """The last `lines` lines the container printed, or [] when it is gone."""
    try:
        raw = client.containers.get(container_id).logs(tail=lines, stdout=True, stderr=True)
    except docker_errors.DockerException:
        return []
    return raw.decode("utf-8", "replace").splitlines()


def remove_container(client: docker.DockerClient, container_id: str, *, grace: int = 10) -> None:
    """Stop (SIGTERM, then SIGKILL after `grace` seconds) and remove; a missing container is fine."""
    try:
        container = client.containers.get(container_id)
    except docker_errors.NotFound:
        return
    try:
        container.stop(timeout=grace)
    except docker_errors.APIError:
        pass
    try:
        container.remove(v=True, force=True)
    except docker_errors.NotFound:
        pass


def memory_usage(client: docker.DockerClient, container_id: str) -> int | None:
    """The container's memory use in bytes as `docker stats` shows it (page cache excluded)."""
    try:
        stats = client.containers.get(container_id).stats(stream=False)
    except docker_errors.DockerException:
        return None
    memory = stats.get("memory_stats") or {}
    usage = memory.get("usage")
    if usage is None:
        return None
    details = memory.get("stats") or {}
    # cgroup v2 reports inactive_file, v1 total_inactive_file: the same subtraction docker's CLI makes.
    cache = details.get("inactive_file", details.get("total_inactive_file", 0))
    return max(0, int(usage) - int(cache))
