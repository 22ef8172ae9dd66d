"""The engine's side of processes and cron runs: plain values in, plain values out.

A process container runs its command from the build's image, inside the app's fence
(builds/pipeline/fence.py), with the engine's restart policy; a cron run is a one-off
container with a time limit whose output is kept. Every call goes through the client the
caller got from the Docker seam (builds/docker.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import docker
from docker import errors as docker_errors

from builds.pipeline import streams
from builds.pipeline.errors import StageError
from builds.pipeline.fence import Fence, host_config
from builds.pipeline.run import remove_container

# A crashed process is started again by the engine (with its growing back-off); one stopped
# by Deployer stays stopped.
RESTART_POLICY = {"Name": "unless-stopped"}


def start_process(
    client: docker.DockerClient,
    image: str,
    command: str,
    *,
    name: str,
    environment: dict[str, str],
    labels: dict[str, str],
    fence: Fence,
) -> str:
    """Run `command` (a shell line) detached from `image`; returns the container's id.

    No port is published: a process that is not the web serves nobody from outside.
    Raises StageError when the engine refuses.
    """
    api = client.api
    try:
        config = api.create_host_config(
            restart_policy=RESTART_POLICY, init=True, **host_config(fence)
        )
        container_id = api.create_container(
            image,
            ["sh", "-c", command],
            name=name,
            environment=environment,
            labels=labels,
            user=fence.user,
            host_config=config,
        )["Id"]
        api.start(container_id)
    except docker_errors.APIError as exc:
        try:
            client.containers.get(name).remove(v=True, force=True)
        except docker_errors.DockerException:
            pass
        raise StageError(f"The process could not be started: {exc.explanation or exc}") from exc
    return container_id


@dataclass(frozen=True)
class Observed:
    """What the engine says of a process container: `state` is the engine's word (running,
    restarting, exited...) or "missing"."""

    state: str
    restart_count: int


def observe(client: docker.DockerClient, container_id: str) -> Observed:
    try:
        attrs = client.api.inspect_container(container_id)
    except docker_errors.NotFound:
        return Observed("missing", 0)
    return Observed(
        str((attrs.get("State") or {}).get("Status", "unknown")),
        int(attrs.get("RestartCount") or 0),
    )


@dataclass(frozen=True)
class OneOff:
    """How a one-off command ended: its exit code (None when it did not end), its output."""

    exit_code: int | None
    output: str
    timed_out: bool = False
    truncated: bool = False


def run_one_off(
    client: docker.DockerClient,
    image: str,
    command: str,
    *,
    environment: dict[str, str],
    labels: dict[str, str],
    fence: Fence,
    timeout: float,
    max_chars: int,
    max_line_chars: int = 8192,
) -> OneOff:
    """Run `command` in a fresh container and wait at most `timeout` seconds for it.

    Keeps the first `max_chars` characters of its output (stdout and stderr). The container
    is always removed; one past its time is killed. Raises StageError when it cannot start.
    """
    try:
        container = client.containers.run(
            image,
            ["sh", "-c", command],
            detach=True,
            environment=environment,
            labels=labels,
            init=True,
            **({"user": fence.user} if fence.user else {}),
            **host_config(fence),
        )
    except docker_errors.APIError as exc:
        raise StageError(f"The container could not start: {exc.explanation or exc}") from exc
    kept: list[str] = []
    size = 0
    truncated = False

    def keep(line: str) -> None:
        nonlocal size, truncated
        if size + len(line) + 1 > max_chars:
            truncated = True
            return
        kept.append(line)
        size += len(line) + 1

    try:
        try:
            exit_code = streams.follow_container(
                container,
                keep,
                max_line_chars=max_line_chars,
                timeout=timeout,
                should_cancel=lambda: False,
                timeout_message="timed out",
                abort=lambda: remove_container(client, container.id, grace=0),
            )
        except StageError:
            return OneOff(None, "\n".join(kept), timed_out=True, truncated=truncated)
        return OneOff(exit_code, "\n".join(kept), truncated=truncated)
    finally:
        remove_container(client, container.id, grace=0)
