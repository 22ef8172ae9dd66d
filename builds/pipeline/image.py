"""Build an image with the Docker engine, streaming every line into the build log as it comes."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import tempfile
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import docker
from docker import APIClient
from docker import errors as docker_errors

from builds import docker as docker_seam
from builds.docker import LABEL_SETUP_OF
from builds.pipeline import diagnose, streams
from builds.pipeline.errors import StageError

SETUP_REPOSITORY = "deployer/setup"
STEP = re.compile(r"^Step \d+/\d+ : (.*)$")
# Lines of a failing step read for a known cause (pip prints its reason near the end).
RECENT_LINES = 400
DEPENDENCY_STEP = re.compile(r"\b(pip|uv|poetry|pipenv)\b.*\binstall\b|\buv\b.*\bsync\b")


@dataclass(frozen=True)
class ImageResult:
    image_id: str
    size: int
    dependency_layer_cached: bool | None


def ensure_base_images(
    api: APIClient, images: Sequence[str], *, log: Callable[[str], None]
) -> None:
    """Make sure every FROM image is on the engine, pulling the missing ones.

    Raises StageError naming the image when it is absent and cannot be pulled (no
    registry reachable, a private registry, a typo), before any build time is spent.
    """
    for image in images:
        try:
            api.inspect_image(image)
            continue
        except docker_errors.ImageNotFound:
            pass
        log(f"Pulling base image {image}")
        repository, _, tag = (
            image.rpartition(":") if ":" in image.split("/")[-1] else (image, "", "")
        )
        try:
            api.pull(repository, tag=tag or "latest")
        except docker_errors.APIError as exc:
            reason = (exc.explanation or str(exc)).strip()
            raise StageError(
                f"The base image {image} is not on this Docker engine and could not be pulled "
                f"({reason}). Use an image the engine has, or make its registry reachable."
            ) from exc


def ensure_setup_image(
    api: APIClient,
    dockerfile_text: str,
    *,
    base_image: str,
    labels: dict[str, str],
    log: Callable[[str], None],
) -> str:
    """Build the setup steps shared by every generated Dockerfile once, and keep them tagged.

    The classic builder's cache is the chain of parent images: when the last image built on
    a chain is removed, its untagged parents go with it. Tagged `deployer/setup:<digest>`
    (of the steps and the base image's id), the shared steps outlive the apps, so the
    first build of every new app finds them in the cache instead of redoing them (about
    1 s). Returns the tag. Raises StageError when the engine cannot build them.
    """
    base_id = api.inspect_image(base_image)["Id"]
    digest = hashlib.sha256(f"{base_id}\n{dockerfile_text}".encode()).hexdigest()[:12]
    tag = f"{SETUP_REPOSITORY}:{digest}"
    try:
        api.inspect_image(tag)
        return tag
    except docker_errors.ImageNotFound:
        pass
    with tempfile.TemporaryDirectory(prefix="deployer-setup-") as context:
        Path(context, "Dockerfile").write_text(dockerfile_text)
        try:
            chunks = list(
                api.build(
                    path=context,
                    tag=tag,
                    labels=labels,
                    rm=True,
                    forcerm=True,
                    pull=False,
                    decode=True,
                )
            )
        except docker_errors.APIError as exc:
            raise StageError(f"The shared setup steps could not be built: {exc}") from exc
    errors = [chunk["error"].strip() for chunk in chunks if "error" in chunk]
    if errors:
        raise StageError(f"The shared setup steps could not be built: {errors[0]}")
    log(f"Prepared the setup steps every app on {base_image} shares ({tag})")
    _untag_superseded(api, tag, labels)
    return tag


def _untag_superseded(api: APIClient, tag: str, labels: dict[str, str]) -> None:
    """Untag older setup images of the same kind (a new Deployer's steps, a rebuilt base
    image): their layers go once no app image is built on them any more."""
    kind = labels.get(LABEL_SETUP_OF)
    if not kind:
        return
    for image in api.images(filters={"label": f"{LABEL_SETUP_OF}={kind}"}):
        for old in image.get("RepoTags") or ():
            if old != tag and old.startswith(f"{SETUP_REPOSITORY}:"):
                try:
                    api.remove_image(old)
                except docker_errors.APIError:
                    pass


def build_image(
    api: APIClient,
    context: IO[bytes],
    *,
    dockerfile: str,
    tag: str,
    labels: dict[str, str],
    buildargs: dict[str, str],
    log: Callable[[str], None],
    should_cancel: Callable[[], bool] = lambda: False,
    timeout: float = 900,
    memory_mb: int = 0,
    cpus: float = 0,
    network: str = "",
) -> ImageResult:
    """Build the tar `context` with its member `dockerfile` into `tag`, logging each line.

    Every step's container gets at most `memory_mb` of memory (no swap) and `cpus` CPUs
    (0: no cap), on `network` (empty: the default bridge). Runs the HTTP stream in a reader thread so that cancellation and the time
    limit are noticed within a second even while a step prints nothing; either one shuts
    the connection down, which makes the engine abort the build. Raises StageError
    with the engine's error (e.g. the failing RUN step's exit code), BuildCancelled.
    """
    responses: list = []
    api.hooks["response"].append(lambda response, *args, **kwargs: responses.append(response))
    state = _StreamState(memory_mb)

    def produce(put: Callable[[object], None]) -> None:
        try:
            for chunk in docker_seam.build(
                api,
                context,
                dockerfile=dockerfile,
                tag=tag,
                labels=labels,
                buildargs=buildargs,
                memory_mb=memory_mb,
                cpus=cpus,
                network=network,
            ):
                put(chunk)
        except Exception as exc:  # noqa: BLE001 - handed to the stage's thread
            put({"exception": exc})

    try:
        streams.follow(
            produce,
            lambda chunk: state.consume(chunk, log),
            timeout=timeout,
            timeout_message=f"The image build exceeded its time limit of {timeout:.0f} s.",
            should_cancel=should_cancel,
            abort=lambda: _abort(responses),
        )
    finally:
        api.hooks["response"].clear()
    if state.error:
        raise StageError(state.error)
    try:
        info = api.inspect_image(tag)
    except docker_errors.ImageNotFound as exc:
        raise StageError("The engine finished the build without producing an image.") from exc
    return ImageResult(info["Id"], int(info.get("Size") or 0), state.dependency_layer_cached)


class _StreamState:
    """Follows the classic builder's output: the lines, the error, and which steps were cached."""

    def __init__(self, memory_mb: int = 0) -> None:
        self.memory_mb = memory_mb
        self.error = ""
        self._current_step = ""
        self._dependency_steps: list[bool] = []
        self._recent: deque[str] = deque(maxlen=RECENT_LINES)

    def consume(self, chunk: dict, log: Callable[[str], None]) -> None:
        if "exception" in chunk:
            exc = chunk["exception"]
            self.error = (
                f"The Docker engine stopped the build: {getattr(exc, 'explanation', None) or exc}"
            )
            return
        if "error" in chunk:
            detail = chunk.get("errorDetail") or {}
            self.error = _explain(chunk["error"].strip(), detail, self.memory_mb)
            log(chunk["error"].strip())
            reason = diagnose.explain_failure(self._recent)
            if reason:
                self.error = f"{self.error} {reason}"
                log(f"Why: {reason}")
            return
        text = chunk.get("stream") or chunk.get("status") or ""
        for line in text.splitlines():
            if not line.strip():
                continue
            log(line)
            step = STEP.match(line)
            if step:
                self._recent.clear()  # a failure is explained from its own step's output
            self._recent.append(line)
            if step:
                self._current_step = step.group(1)
                if DEPENDENCY_STEP.search(self._current_step):
                    self._dependency_steps.append(False)
            elif "Using cache" in line and DEPENDENCY_STEP.search(self._current_step):
                self._dependency_steps[-1] = True

    @property
    def dependency_layer_cached(self) -> bool | None:
        return all(self._dependency_steps) if self._dependency_steps else None


def _explain(error: str, detail: dict, memory_mb: int = 0) -> str:
    code = detail.get("code")
    match = re.search(r"The command '(.*)' returned a non-zero code: (\d+)", error)
    if match:
        command = match.group(1).removeprefix("/bin/sh -c ")
        if match.group(2) == "137" and memory_mb:
            return (
                f"The build step `{command[:200]}` was killed (exit code 137), most likely for "
                f"using more than the build's memory limit of {memory_mb} MB "
                "(DEPLOYER_BUILD_MEMORY_MB). Reduce what the step holds in memory at once, or "
                "ask the operator to raise the limit."
            )
        return f"The build step `{command[:200]}` failed with exit code {match.group(2)}."
    if "pull access denied" in error or "no such host" in error or "manifest unknown" in error:
        return f"A base image could not be pulled: {error}"
    return f"The image build failed: {error}" + (f" (code {code})" if code else "")


def _abort(responses: list) -> None:
    """Shut the build's HTTP connection down; the engine cancels a build whose client left."""
    for response in responses:
        sock = getattr(getattr(response.raw, "connection", None), "sock", None)
        try:
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)
            response.close()
        except OSError:
            pass


# The engine's data folder, asked once per engine and process: `docker info` (7-10 ms here)
# counts every container and image, and the folder does not move while dockerd runs.
_ROOT_DIRS: dict[str, str] = {}


def check_free_space(client: docker.DockerClient, min_mb: int) -> int | None:
    """Refuse a build when the engine's disk has less than `min_mb` MB free; returns the
    free MB, or None when it cannot be known from here (a remote engine, 0 = no check).

    Measured on the engine's data folder (`DockerRootDir`) when the engine is this host's
    (its Unix socket): a remote engine's disk is not visible to the worker.
    """
    base_url = client.api.base_url
    if min_mb <= 0 or not base_url.startswith("http+docker://"):
        return None
    root = _ROOT_DIRS.get(base_url, "")
    if not root:
        try:
            root = _ROOT_DIRS[base_url] = client.info().get("DockerRootDir") or ""
        except docker_errors.DockerException:
            return None
    if not root or not os.path.isdir(root):
        return None
    free_mb = shutil.disk_usage(root).free // 1_000_000
    if free_mb < min_mb:
        raise StageError(
            f"Only {free_mb} MB are free on the Docker engine's disk ({root}); a build needs at "
            f"least {min_mb} MB (DEPLOYER_MIN_FREE_DISK_MB). Free space (old images are removed "
            "every DEPLOYER_HOUSEKEEPING_INTERVAL seconds) or give the engine a larger disk."
        )
    return free_mb
