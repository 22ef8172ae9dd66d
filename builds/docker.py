"""The one place that creates Docker clients and turns SDK errors into readable reasons."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

import docker
import requests
from django.conf import settings
from docker import errors as docker_errors

# Every container, image and network Deployer creates carries these labels,
# so cleanup can be done by label and never touches anything else.
LABEL_MANAGED = "org.deployer.managed"
LABEL_PROJECT = "org.deployer.project"
LABEL_BUILD = "org.deployer.build"
LABEL_ROLE = "org.deployer.role"
# On the containers of a process type other than web (worker, ...) and of cron runs: its name.
LABEL_PROCESS = "org.deployer.process"
# Which Deployer installation made it (builds/installation.py): two installations, or a test
# run beside a running stack, on one engine leave each other's things alone.
LABEL_INSTALLATION = "org.deployer.installation"
# On the shared setup images: the base image and port they are for.
LABEL_SETUP_OF = "org.deployer.setup-of"


def belongs(labels: dict | None, installation: str) -> bool:
    """Whether a resource with `labels` is this installation's: it says so, or it predates the
    installation label (made by this installation before the upgrade that added it)."""
    return (labels or {}).get(LABEL_INSTALLATION, installation) == installation


class DockerUnavailable(Exception):
    """The Docker engine cannot be reached."""


# The API version the engine agreed to, asked once per process: "auto" costs a request
# (10-15 ms) every time a client is made, and a build or a health round makes several.
_api_version: str | None = None


@contextmanager
def client(timeout: int | None = None) -> Iterator[docker.DockerClient]:
    """A client for the engine named by DOCKER_HOST (default: the local socket), closed on exit."""
    global _api_version
    try:
        docker_client = docker.from_env(
            timeout=timeout or settings.DEPLOYER_DOCKER_TIMEOUT, version=_api_version or "auto"
        )
    except docker_errors.DockerException as exc:
        raise DockerUnavailable(describe_error(exc)) from exc
    _api_version = docker_client.api.api_version
    try:
        yield docker_client
    finally:
        docker_client.close()


def build(
    api: docker.APIClient,
    context: IO[bytes],
    *,
    dockerfile: str,
    tag: str,
    labels: dict[str, str],
    buildargs: dict[str, str],
    memory_mb: int,
    cpus: float,
    network: str = "",
) -> Iterator[dict]:
    """POST /build of a tar `context` Deployer wrote, yielding the engine's decoded output.

    Every step's container is capped at `memory_mb` (swap included: none) and `cpus` CPUs,
    0 meaning no cap, and has half an app container's CPU weight. docker-py's `APIClient.build` accepts only four of the engine's build
    limits (memory, memswap, cpushares, cpusetcpus) and a CPU cap needs `cpuperiod` and
    `cpuquota`, which the Engine API takes on /build since 1.19; so this one request is
    made with docker-py's own transport and stream decoding, as `APIClient.build` makes it.
    `network` names the network the steps' containers join (empty: the default bridge).
    """
    params: dict[str, object] = {
        "t": tag,
        "dockerfile": dockerfile,
        "q": False,
        "nocache": False,
        "rm": True,
        "forcerm": True,
        "pull": False,
        "labels": json.dumps(labels),
        "buildargs": json.dumps(buildargs),
    }
    if network:
        params["networkmode"] = network
    if memory_mb:
        params["memory"] = params["memswap"] = memory_mb * 1024 * 1024
    # A build step yields the CPU to running apps (weight 1024) when both want it, and uses
    # every idle core otherwise; `cpus` adds a hard cap on top.
    params["cpushares"] = BUILD_CPU_SHARES
    if cpus:
        params["cpuperiod"] = CPU_PERIOD
        params["cpuquota"] = int(cpus * CPU_PERIOD)
    response = api._post(
        api._url("/build"),
        params=params,
        data=context,
        headers={"Content-Type": "application/tar"},
        stream=True,
        timeout=None,
    )
    yield from api._stream_helper(response, decode=True)


def containers(client: docker.DockerClient, label: str, *, stopped: bool = True) -> list:
    """The containers carrying `label` (`key=value` or `key`), stopped ones too unless told.

    One that goes between the engine's list and its inspection (a build retiring its
    previous version, a test tearing down) is skipped rather than raised.
    """
    return client.containers.list(all=stopped, filters={"label": label}, ignore_removed=True)


@dataclass(frozen=True)
class Ran:
    """What a command run inside a container gave back."""

    exit_code: int | None
    stdout: str
    stderr: str


def run_in(client: docker.DockerClient, container: str, command: list[str]) -> Ran:
    """Run `command` inside a running container (as its user) and wait for it to end.

    Raises docker's DockerException when the engine refuses; the container's output is
    untrusted text.
    """
    created = client.api.exec_create(container, command)
    out, err = client.api.exec_start(created["Id"], demux=True)
    code = client.api.exec_inspect(created["Id"]).get("ExitCode")
    return Ran(
        code, (out or b"").decode("utf-8", "replace"), (err or b"").decode("utf-8", "replace")
    )


# The scheduler period of a CPU quota: 100 ms, the kernel's and Docker's default.
CPU_PERIOD = 100_000
# The engine's default CPU weight, and half of it: a build step's (see `build`) and a web
# container's while it boots (pipeline/fence.py).
DEFAULT_CPU_SHARES = 1024
BUILD_CPU_SHARES = DEFAULT_CPU_SHARES // 2


def describe_error(exc: BaseException) -> str:
    """One readable sentence for an error raised while talking to the engine."""
    if isinstance(exc, DockerUnavailable):
        return str(exc)
    if isinstance(exc, requests.exceptions.ConnectionError) or (
        isinstance(exc, docker_errors.DockerException) and "Connection" in str(exc)
    ):
        return "The Docker engine is not reachable (is dockerd running?)."
    if isinstance(exc, requests.exceptions.Timeout):
        return "The Docker engine did not answer in time."
    if isinstance(exc, docker_errors.ImageNotFound):
        return f"Image not found: {exc.explanation}"
    if isinstance(exc, docker_errors.NotFound):
        return f"Not found in the Docker engine: {exc.explanation}"
    if isinstance(exc, docker_errors.APIError):
        return f"The Docker engine refused: {exc.explanation or exc}"
    return f"{type(exc).__name__}: {exc}"
