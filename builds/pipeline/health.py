"""The health gate: a new container is live only when it answers HTTP from the host."""

from __future__ import annotations

import http.client
import time
from collections.abc import Callable

import docker
from docker import errors as docker_errors

from builds.pipeline.errors import BuildCancelled, StageError
from builds.pipeline.run import tail_logs

# Seconds between looks at the container's state (an engine request) while waiting.
CHECK_EVERY = 0.25
# Seconds between logged attempts: a slow boot is a few lines, not hundreds.
LOG_EVERY = 1.0


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
    interval: float = 0.01,
    max_interval: float = 2.0,
    should_cancel: Callable[[], bool] = lambda: False,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Poll until the app answers 2xx/3xx; return the number of attempts.

    Probes go every `interval` at first, then after a twentieth of the time waited so far
    (at most `max_interval`): the gate opens within a few percent of the moment the app
    can answer, without a flood of probes for a slow one. The first attempt, one a second
    and the answer are logged. Looks at the container (and at a cancel) every
    `CHECK_EVERY` seconds: fails early when it exits, is OOM-killed or restarts; otherwise
    after `deadline` seconds. A failure's StageError carries the reason, and the
    container's last log lines are written to the build log. The wait is timed by `clock`
    and paced by `sleep`: tests pass fake ones that move time without waiting.
    """
    started = clock()
    attempt = 0
    logged_at = checked_at = None  # seconds into the wait of the last logged attempt, check
    while True:
        attempt += 1
        # The probe goes first: once the app listens, nothing should delay the request.
        status, detail = probe(port, path, host)
        elapsed = clock() - started
        if status is not None and 200 <= status < 400:
            log(
                f"Health check {attempt}: GET {path} (Host: {host}) answered {status} after {elapsed:.2f} s"
            )
            return attempt
        if logged_at is None or elapsed - logged_at >= LOG_EVERY or elapsed >= deadline:
            logged_at = elapsed
            log(
                f"Health check {attempt}: GET {path} (Host: {host}): {status or 'no answer'} {detail}".rstrip()
            )
        if checked_at is None or elapsed - checked_at >= CHECK_EVERY or elapsed >= deadline:
            checked_at = elapsed
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
        sleep(min(max(interval, elapsed / 20), max_interval, max(0.0, deadline - elapsed)))


def _copy_logs(client: docker.DockerClient, container_id: str, log: Callable[[str], None]) -> None:
    lines = tail_logs(client, container_id)
    if lines:
        log("--- last lines the app printed ---")
        for line in lines:
            log(line)
        log("--- end of the app's output ---")
