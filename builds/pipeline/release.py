"""The release command (Django's migrate, a Procfile's release:) in a one-off container."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable

import docker
from docker import errors as docker_errors

from builds.pipeline.errors import BuildCancelled, StageError
from builds.pipeline.run import remove_container

_DONE = object()


def run_release(
    client: docker.DockerClient,
    image: str,
    command: str,
    *,
    environment: dict[str, str],
    labels: dict[str, str],
    memory_mb: int,
    log: Callable[[str], None],
    timeout: float = 600,
    should_cancel: Callable[[], bool] = lambda: False,
) -> None:
    """Run `command` with the app's runtime environment before the switch, streaming its output.

    The container is always removed. Raises StageError when the command exits
    non-zero or exceeds `timeout`; BuildCancelled when the user cancels.
    """
    log(f"Running the release command: {command}")
    try:
        container = client.containers.run(
            image, ["sh", "-c", command], detach=True, environment=environment,
            labels=labels, mem_limit=f"{memory_mb}m",
        )  # fmt: skip
    except docker_errors.APIError as exc:
        raise StageError(
            f"The release container could not start: {exc.explanation or exc}"
        ) from exc
    lines: queue.Queue = queue.Queue()

    def follow() -> None:
        try:
            for chunk in container.logs(stream=True, follow=True):
                lines.put(chunk.decode("utf-8", "replace"))
        except docker_errors.DockerException:
            pass
        finally:
            lines.put(_DONE)

    threading.Thread(target=follow, daemon=True).start()
    deadline = time.monotonic() + timeout
    pending = ""
    try:
        while True:
            try:
                chunk = lines.get(timeout=0.5)
            except queue.Empty:
                chunk = None
            if chunk is _DONE:
                break
            if chunk:
                pending += chunk
                *complete, pending = pending.split("\n")
                for line in complete:
                    log(line)
            if time.monotonic() > deadline:
                raise StageError(f"The release command did not finish within {timeout:.0f} s.")
            if should_cancel():
                raise BuildCancelled()
        if pending:
            log(pending)
        exit_code = container.wait(timeout=30).get("StatusCode")
        if exit_code != 0:
            raise StageError(f"The release command `{command}` failed with exit code {exit_code}.")
        log("The release command succeeded.")
    finally:
        remove_container(client, container.id, grace=0)
