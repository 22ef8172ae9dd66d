"""Start an app's container: its environment, a memory limit, a restart policy, a loopback-only port."""

from __future__ import annotations

from dataclasses import dataclass

import docker
from docker import errors as docker_errors

from builds.pipeline.errors import StageError

LOG_TAIL_LINES = 40


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
    memory_mb: int,
) -> Started:
    """Run `image` detached, publishing `container_port` on an ephemeral port of 127.0.0.1 only.

    The environment (the project's variables, decrypted, plus PORT) is given to the
    container at run time and never enters the image. Raises StageError when the engine
    refuses to create or start the container.
    """
    try:
        container = client.containers.run(
            image,
            detach=True,
            name=name,
            environment={**environment, "PORT": str(container_port)},
            labels=labels,
            ports={f"{container_port}/tcp": ("127.0.0.1", None)},
            mem_limit=f"{memory_mb}m",
            memswap_limit=f"{memory_mb}m",
            restart_policy={"Name": "unless-stopped"},
            init=True,
        )
        container.reload()
        binding = container.attrs["NetworkSettings"]["Ports"][f"{container_port}/tcp"][0]
    except docker_errors.APIError as exc:
        raise StageError(f"The container could not be started: {exc.explanation or exc}") from exc
    except (KeyError, IndexError, TypeError) as exc:
        raise StageError("The container started without a published port.") from exc
    return Started(container.id, name, int(binding["HostPort"]))


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
        container.remove(force=True)
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
