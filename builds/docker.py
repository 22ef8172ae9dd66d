"""The one place that creates Docker clients and turns SDK errors into readable reasons."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

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
# On the shared setup images: the base image and port they are for.
LABEL_SETUP_OF = "org.deployer.setup-of"


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
