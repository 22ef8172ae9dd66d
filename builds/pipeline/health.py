"""The health gate: a new container is live only when it answers HTTP from the host."""

from __future__ import annotations

import http.client
import time
from collections.abc import Callable

import docker
from docker import errors as docker_errors

from builds.pipeline.errors import BuildCancelled, StageError
from builds.pipeline.run import tail_logs


def probe(port: int, path: str, host: str, timeout: float = 5.0) -> tuple[int | None, str]:
    """One GET of http://127.0.0.1:<port><path> with the app's Host header: (status, detail)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Host": host, "User-Agent": "Deployer-health/1"})
        response = connection.getresponse()
        response.read(65536)
        return response.status, response.reason
    except (OSError, http.client.HTTPException) as exc:
        return None, str(exc) or type(exc).__name__
    finally:
        connection.close()


def container_failure(client: docker.DockerClient, container_id: str, memory_mb: int) -> str | None:
    """Why the container is not running (exited, OOM-killed, crash-looping), or None while it runs."""
    try:
        attrs = client.containers.get(container_id).attrs
    except docker_errors.NotFound:
        return "The container disappeared."
    state = attrs["State"]
    restarts = attrs.get("RestartCount", 0)
    if state.get("OOMKilled"):
        return (
            f"The app was killed for using more than its memory limit of {memory_mb} MB "
            "(out of memory). Raise the project's memory limit or reduce the app's workers."
        )
    if state.get("Status") in ("exited", "dead"):
        return (
            f"The app exited with code {state.get('ExitCode')} before answering its health check."
        )
    if restarts:
        return f"The app keeps crashing: it exited and was restarted {restarts} time(s)."
    return None


def wait_until_healthy(
    client: docker.DockerClient,
    container_id: str,
    *,
    port: int,
    path: str,
    host: str,
    memory_mb: int,
    log: Callable[[str], None],
    deadline: float = 60.0,
    interval: float = 0.02,
    max_interval: float = 2.0,
    should_cancel: Callable[[], bool] = lambda: False,
) -> int:
    """Poll until the app answers 2xx/3xx; return the number of attempts.

    Every attempt is logged. Fails early when the container exits, is OOM-killed or
    restarts; otherwise after `deadline` seconds. A failure's StageError carries the
    reason, and the container's last log lines are written to the build log.
    """
    started = time.monotonic()
    attempt = 0
    while True:
        attempt += 1
        # The probe goes first: once the app listens, nothing should delay the request.
        status, detail = probe(port, path, host)
        elapsed = time.monotonic() - started
        if status is not None and 200 <= status < 400:
            log(
                f"Health check {attempt}: GET {path} (Host: {host}) answered {status} after {elapsed:.1f} s"
            )
            return attempt
        log(
            f"Health check {attempt}: GET {path} (Host: {host}): {status or 'no answer'} {detail}".rstrip()
        )
        if should_cancel():
            raise BuildCancelled()
        failure = container_failure(client, container_id, memory_mb)
        if failure:
            _copy_logs(client, container_id, log)
            raise StageError(failure)
        if elapsed >= deadline:
            _copy_logs(client, container_id, log)
            answer = f"answered {status} {detail}" if status else f"did not answer ({detail})"
            raise StageError(
                f"The app did not pass its health check within {deadline:.0f} s: GET {path} {answer}."
            )
        # Most apps boot in well under a second: poll fast at first, then back off.
        time.sleep(
            min(interval * (1.15 ** (attempt - 1)), max_interval, max(0.0, deadline - elapsed))
        )


def _copy_logs(client: docker.DockerClient, container_id: str, log: Callable[[str], None]) -> None:
    lines = tail_logs(client, container_id)
    if lines:
        log("--- last lines the app printed ---")
        for line in lines:
            log(line)
        log("--- end of the app's output ---")
