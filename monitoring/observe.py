"""Look at live apps: each container through the Docker seam, each health path over HTTP.

No ORM here: plain targets in, plain observations out, so the checks can run on threads.
Every app is checked on a thread of its own pool slot with a time budget; an app that
hangs is given up on and cannot delay the others.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TypeVar

from docker import errors as docker_errors

from builds import docker as docker_seam
from builds.pipeline import health
from builds.pipeline.run import tail_logs
from monitoring import containerstats
from monitoring.checks import MISSING, ContainerState, Probe

logger = logging.getLogger(__name__)

LOG_LINES = 40
# How often the waiting thread looks for finished or overdue checks.
POLL_SECONDS = 0.05

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass(frozen=True)
class Target:
    """A live deployment to check, read from the database before the threads start."""

    deployment_id: int
    container_id: str
    host_port: int | None
    path: str
    host: str
    known_restarts: int
    container_port: int = 8000


@dataclass(frozen=True)
class Observation:
    target: Target
    container: ContainerState | None = None
    probe: Probe | None = None
    logs: list[str] = field(default_factory=list)
    # The engine failed to answer about this container: its state must not change.
    engine_error: str = ""
    # The check overran its budget (the app or the engine hung).
    timed_out: bool = False


def engine_error(timeout: float = 5.0) -> str:
    """Why the Docker engine cannot be reached, or "" when it answers a ping."""
    try:
        with docker_seam.client(timeout=max(1, round(timeout))) as client:
            client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure is the engine being unreachable
        return docker_seam.describe_error(exc)
    return ""


def observe(target: Target, *, timeout: float) -> Observation:
    """Inspect the container and, when it runs, GET its health path from the host."""
    try:
        with docker_seam.client(timeout=max(1, round(timeout))) as client:
            try:
                attrs = client.containers.get(target.container_id).attrs
            except docker_errors.NotFound:
                attrs = None
            container = ContainerState.from_attrs(attrs) if attrs else MISSING
            logs: list[str] = []
            if container.status != "running" or container.restart_count > target.known_restarts:
                logs = tail_logs(client, target.container_id, LOG_LINES)
    except Exception as exc:  # noqa: BLE001 - recorded as the engine failing, never as the app
        return Observation(target, engine_error=docker_seam.describe_error(exc))
    probe = None
    port = published_port(attrs or {}, target.container_port) or target.host_port
    if port != target.host_port:
        logger.warning("Container %s now publishes port %s, not %s", target, port, target.host_port)
    if container.status == "running" and port:
        started = time.monotonic()
        status, detail = health.probe(port, target.path, target.host, timeout=timeout)
        probe = Probe(status, detail, round((time.monotonic() - started) * 1000, 1))
    return Observation(target, container, probe, logs)


def published_port(attrs: dict, container_port: int) -> int | None:
    """The host port Docker publishes `container_port` on now, from `docker inspect` attrs."""
    try:
        return int(attrs["NetworkSettings"]["Ports"][f"{container_port}/tcp"][0]["HostPort"])
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def observe_all(targets: Sequence[Target], *, timeout: float, workers: int) -> list[Observation]:
    """Observe every target concurrently; one overrunning `timeout` (+1 s) is marked timed out."""
    results = run_concurrently(
        lambda target: observe(target, timeout=timeout),
        targets,
        budget=timeout + 1,
        workers=workers,
    )
    return [
        result if result is not None else Observation(target, timed_out=True)
        for target, result in zip(targets, results, strict=True)
    ]


def run_concurrently(
    function: Callable[[Item], Result],
    items: Sequence[Item],
    *,
    budget: float,
    workers: int,
    clock: Callable[[], float] = time.monotonic,
) -> list[Result | None]:
    """`function(item)` for each item on up to `workers` threads, results in order.

    A call still running `budget` seconds after it started, or one that raised, gives
    None; the caller is not held up by it (its thread is abandoned and ends on its own
    socket timeout). Calls that never got a thread within the whole run's budget give None.
    Budgets are measured on `clock`, which tests replace with one they move by hand.
    """
    if not items:
        return []
    started: dict[int, float] = {}
    results: list[Result | None] = [None] * len(items)

    def run(index: int) -> Result:
        started[index] = clock()
        return function(items[index])

    slots = max(1, min(workers, len(items)))
    rounds = -(-len(items) // slots)
    deadline = clock() + budget * (rounds + 1)
    pool = ThreadPoolExecutor(max_workers=slots, thread_name_prefix="health-check")
    futures: dict[Future, int] = {pool.submit(run, index): index for index in range(len(items))}
    pending = set(futures)
    try:
        while pending and clock() < deadline:
            done, pending = wait(pending, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
            for future in done:
                _collect(future, futures[future], items, results)
            now = clock()
            overdue = {f for f in pending if now - started.get(futures[f], now) > budget}
            for future in overdue:
                logger.warning("Health check of %s overran %.0f s", items[futures[future]], budget)
            pending -= overdue
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return results


def _collect(future: Future, index: int, items: Sequence, results: list) -> None:
    exc = future.exception()
    if exc is None:
        results[index] = future.result()
    else:
        logger.error("Health check of %s failed: %r", items[index], exc)


def read_stats(container_id: str, *, timeout: float) -> containerstats.Reading | None:
    """The container's one-shot stats through the Docker seam; None when it is gone, not
    running, or the engine failed to answer (a gap in the charts, never an error)."""
    try:
        with docker_seam.client(timeout=max(1, round(timeout))) as client:
            stats = client.api.stats(container_id, stream=False, one_shot=True)
    except docker_errors.NotFound:
        return None
    except Exception as exc:  # noqa: BLE001 - any failure is a missing sample
        logger.info(
            "No stats of container %s: %s", container_id[:12], docker_seam.describe_error(exc)
        )
        return None
    return containerstats.parse(stats)


def read_all_stats(
    container_ids: Sequence[str], *, timeout: float, workers: int
) -> list[containerstats.Reading | None]:
    """One-shot stats of every container concurrently; one overrunning `timeout` gives None."""
    return run_concurrently(
        lambda container_id: read_stats(container_id, timeout=timeout),
        container_ids,
        budget=timeout + 1,
        workers=workers,
    )
