"""The release command (Django's migrate, a Procfile's release:) in a one-off container."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import docker
from docker import errors as docker_errors

from builds.pipeline import streams
from builds.pipeline.errors import StageError
from builds.pipeline.fence import Fence, host_config
from builds.pipeline.run import remove_container


@dataclass(frozen=True)
class Precheck:
    """A shell line run before the release command; exiting with `exit_code` means `reason`."""

    shell: str
    exit_code: int
    reason: str


def run_release(
    client: docker.DockerClient,
    image: str,
    command: str,
    *,
    environment: dict[str, str],
    labels: dict[str, str],
    fence: Fence,
    log: Callable[[str], None],
    timeout: float = 600,
    should_cancel: Callable[[], bool] = lambda: False,
    precheck: Precheck | None = None,
    max_line_chars: int = 8192,
) -> None:
    """Run `command` with the app's runtime environment before the switch, streaming its output.

    The container has the same fence as the app's (fence.py): network, limits, user and
    mounts. It is always removed. A `precheck` (a shell line run first in the same
    container) that exits with its code fails the release with its sentence. Raises
    StageError when the command exits non-zero or exceeds `timeout`; BuildCancelled when
    the user cancels.
    """
    log(f"Running the release command: {command}")
    line = f"{precheck.shell}\n{command}" if precheck else command
    try:
        container = client.containers.run(
            image,
            ["sh", "-c", line],
            detach=True,
            environment=environment,
            labels=labels,
            **({"user": fence.user} if fence.user else {}),
            **host_config(fence),
        )
    except docker_errors.APIError as exc:
        raise StageError(
            f"The release container could not start: {exc.explanation or exc}"
        ) from exc
    try:
        exit_code = streams.follow_container(
            container,
            log,
            max_line_chars=max_line_chars,
            timeout=timeout,
            should_cancel=should_cancel,
            timeout_message=f"The release command did not finish within {timeout:.0f} s.",
            abort=lambda: remove_container(client, container.id, grace=0),
        )
        if precheck and exit_code == precheck.exit_code:
            raise StageError(precheck.reason)
        if exit_code != 0:
            raise StageError(f"The release command `{command}` failed with exit code {exit_code}.")
        log("The release command succeeded.")
    finally:
        remove_container(client, container.id, grace=0)
