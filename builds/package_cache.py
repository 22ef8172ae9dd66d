"""The shared package cache: a caching proxy of public PyPI that builds download through.

A dependency change rebuilds the install layer from scratch (the classic builder has no
`RUN --mount=type=cache`), so without a cache every package would be downloaded again.
Deployer runs one proxpi container per installation on its own bridge network; builds of
plans that install from public PyPI alone (`plan.public_pypi`, no build arguments) run on
that network with `UV_DEFAULT_INDEX` pointing at it, and every other build keeps to the
default bridge and its own indexes. The proxy only ever fetches from public PyPI, so it
holds nothing private, and an image still holds only what its project asked for.

Everything here degrades: when the cache is off, cannot be built or started, or is not
running, `for_build` says why in the build log and the build downloads from PyPI directly.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import docker
from django.conf import settings
from docker import errors as docker_errors
from docker import types as docker_types

from builds import docker as docker_seam
from builds.installation import installation_id
from builds.pipeline import dockerfile, fence
from builds.pipeline.detection.installer import (
    CACHE_HOST,
    CACHE_PORT,
    INDEX_ARG,
    INDEX_URL,
    UV_DIR,
    UV_PATH,
    UV_VERSION,
)
from builds.pipeline.dockerfile import uses_uv
from builds.pipeline.plan import DEFAULT_PYTHON, Plan

PROXPI_VERSION = "1.3.1"
GUNICORN_VERSION = "27.0.1"
REPOSITORY = "deployer/package-cache"
ROLE = "package-cache"
# The name builds resolve on the cache's network (an alias: the container's own name carries
# the installation id); a dot keeps it apart from every project network (`deployer-<slug>`).
ALIAS = CACHE_HOST
PORT = CACHE_PORT
CACHE_DIR = "/var/cache/proxpi"
# Its bridge shares the `dpl-` prefix of project bridges (fence.bridge_name of the network's
# name, so two installations on one engine get two bridges), and the operator's one host rule
# (`iptables -I INPUT -i dpl-+ ...`, docs/security.md) also closes the host to build steps.
STARTUP_SECONDS = 20.0
# proxpi, and beside it the pinned uv executable for single-stage builds to fetch
# (installer.UV_FETCH): served as a file, so no build downloads uv from the Internet and no
# app image holds it. Anything else goes to proxpi.
SERVER = f"""\
import os

from proxpi.server import app as proxpi

UV = "{UV_DIR}/bin/uv"
UV_PATH = "{UV_PATH}"


def app(environ, start_response):
    if environ.get("PATH_INFO") != UV_PATH:
        return proxpi(environ, start_response)
    headers = [
        ("Content-Type", "application/octet-stream"),
        ("Content-Length", str(os.path.getsize(UV))),
    ]
    start_response("200 OK", headers)
    return environ["wsgi.file_wrapper"](open(UV, "rb"), 1 << 20)
"""
DOCKERFILE = f"""\
FROM {{image}}
ENV PIP_BREAK_SYSTEM_PACKAGES=1
RUN python3 -m pip install --no-cache-dir --disable-pip-version-check \\
    proxpi=={PROXPI_VERSION} gunicorn=={GUNICORN_VERSION} \\
    && python3 -m pip install --no-cache-dir --disable-pip-version-check --no-deps \\
    --only-binary :all: --target {UV_DIR} uv=={UV_VERSION} \\
    && install -d -o 10001 -g 10001 {CACHE_DIR}
COPY serve.py /opt/package-cache/serve.py
# requests (proxpi's client) trusts the system's certificates, as pip and uv do here.
ENV PROXPI_CACHE_DIR={CACHE_DIR} \\
    HOME=/tmp \\
    REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt \\
    PYTHONUNBUFFERED=1
USER 10001:10001
EXPOSE {PORT}
CMD ["python3", "-m", "gunicorn", "--bind", "0.0.0.0:{PORT}", "--threads", "16", \\
     "--timeout", "300", "--chdir", "/opt/package-cache", "serve:app"]
"""


@dataclass(frozen=True)
class CacheUse:
    """How one build installs: on `network` with `buildargs`, or straight to PyPI (empty)."""

    network: str = ""
    buildargs: dict[str, str] | None = None


def name() -> str:
    """The container, network and volume name of this installation's cache."""
    return f"deployer.package-cache.{installation_id()}"


def bridge() -> str:
    """The network's interface: `dpl-<hash>` of the network's name, one per installation."""
    return fence.bridge_name(name())


def labels() -> dict[str, str]:
    return {
        docker_seam.LABEL_MANAGED: "1",
        docker_seam.LABEL_INSTALLATION: installation_id(),
        docker_seam.LABEL_ROLE: ROLE,
    }


def for_build(
    client: docker.DockerClient,
    plan: Plan,
    build_args: dict[str, str],
    log: Callable[[str], None],
) -> CacheUse:
    """Whether and how this build uses the package cache, ensuring the cache is up.

    A plan that installs with pip, names another index, or has build arguments (a token for
    a private index) bypasses it. Never raises: a cache that cannot be used is logged and
    the build installs from PyPI directly.
    """
    if not settings.DEPLOYER_PACKAGE_CACHE or not uses_uv(plan):
        return CacheUse()
    if not suits(plan, build_args):
        log(
            "Package cache: not used (this project installs from its own index or has "
            "build arguments); downloading from the indexes it names"
        )
        return CacheUse()
    try:
        network = ensure(client, log)
    except (docker_errors.DockerException, CacheDown) as exc:
        why = str(exc) if isinstance(exc, CacheDown) else docker_seam.describe_error(exc)
        log(f"Package cache unavailable ({why}): installing from PyPI directly")
        return CacheUse()
    log(f"Package cache: downloads from public PyPI go through {INDEX_URL}")
    if dockerfile.fetches_uv(plan, True):  # the install step names the index itself
        return CacheUse(network=network, buildargs=dict(build_args))
    return CacheUse(network=network, buildargs={**build_args, INDEX_ARG: INDEX_URL})


def suits(plan: Plan, build_args: object) -> bool:
    """Whether a build of `plan` with these build arguments (names or values) may use the
    cache when it is on and up: uv, public PyPI alone, no build arguments."""
    return uses_uv(plan) and plan.public_pypi and not build_args


class CacheDown(Exception):
    """The cache container is not running and could not be started."""


def ensure(client: docker.DockerClient, log: Callable[[str], None]) -> str:
    """The cache's image, network, volume and running container; returns the network's name.

    Raises CacheDown or the SDK's DockerException when any of them cannot be made.
    """
    container_name = name()
    try:
        state = client.api.inspect_container(container_name)["State"]
    except docker_errors.NotFound:
        state = None
    if state and state.get("Running") and (state.get("Health") or {}).get("Status") != "unhealthy":
        return container_name
    if state:  # stopped, crashed or unhealthy: start afresh from the current image
        client.api.remove_container(container_name, v=True, force=True)
    image = ensure_image(client.api, log)
    _ensure_network(client)
    _ensure_volume(client)
    _start(client, image)
    _wait_until_listening(client, container_name)
    log(f"Package cache started ({container_name}, {settings.DEPLOYER_PACKAGE_CACHE_MB} MB)")
    return container_name


def ensure_image(api: docker.APIClient, log: Callable[[str], None]) -> str:
    """The proxy's image, built once from the default Python's base image; returns its tag."""
    base = settings.DEPLOYER_BASE_IMAGE.format(version=DEFAULT_PYTHON)
    text = DOCKERFILE.format(image=base)
    base_id = api.inspect_image(base)["Id"]
    digest = hashlib.sha256(f"{base_id}\n{text}\n{SERVER}".encode()).hexdigest()[:12]
    tag = f"{REPOSITORY}:{digest}"
    try:
        api.inspect_image(tag)
        return tag
    except docker_errors.ImageNotFound:
        pass
    log(f"Building the package cache's image (proxpi {PROXPI_VERSION}) once")
    with tempfile.TemporaryDirectory(prefix="deployer-package-cache-") as context:
        Path(context, "Dockerfile").write_text(text)
        Path(context, "serve.py").write_text(SERVER)
        chunks = list(
            api.build(path=context, tag=tag, labels=labels(), rm=True, forcerm=True, decode=True)
        )
    errors = [chunk["error"].strip() for chunk in chunks if "error" in chunk]
    if errors:
        raise CacheDown(f"its image could not be built: {errors[0]}")
    return tag


def _ensure_network(client: docker.DockerClient) -> None:
    try:
        client.api.inspect_network(name())
        return
    except docker_errors.NotFound:
        pass
    try:
        client.api.create_network(
            name(),
            driver="bridge",
            labels=labels(),
            check_duplicate=True,
            options={
                "com.docker.network.bridge.name": bridge(),
                "com.docker.network.bridge.enable_icc": "true",  # builds reach the proxy
                "com.docker.network.bridge.enable_ip_masquerade": "true",  # it reaches PyPI
            },
        )
    except docker_errors.APIError as exc:
        if exc.status_code != 409:  # 409: a parallel build made it meanwhile
            raise


def _ensure_volume(client: docker.DockerClient) -> None:
    try:
        client.api.inspect_volume(name())
    except docker_errors.NotFound:
        client.api.create_volume(name(), labels=labels())


def _start(client: docker.DockerClient, image: str) -> None:
    api = client.api
    host_config = api.create_host_config(
        network_mode=name(),
        restart_policy={"Name": "unless-stopped"},
        mem_limit="256m",
        memswap_limit="256m",
        pids_limit=256,
        cap_drop=["ALL"],
        security_opt=["no-new-privileges:true"],
        mounts=[docker_types.Mount(CACHE_DIR, name(), type="volume")],
        log_config={"type": "json-file", "config": {"max-size": "10m", "max-file": "2"}},
    )
    probe = (
        "import urllib.request; "
        f"urllib.request.urlopen('http://127.0.0.1:{PORT}/health', timeout=5)"
    )
    try:
        created = api.create_container(
            image,
            name=name(),
            labels=labels(),
            environment={
                "PROXPI_CACHE_SIZE": str(settings.DEPLOYER_PACKAGE_CACHE_MB * 1_000_000),
            },
            host_config=host_config,
            networking_config=api.create_networking_config(
                {name(): api.create_endpoint_config(aliases=[ALIAS])}
            ),
            healthcheck={
                "test": ["CMD", "python3", "-c", probe],
                "interval": 30 * 1_000_000_000,
                "timeout": 10 * 1_000_000_000,
                "retries": 3,
            },
        )
    except docker_errors.APIError as exc:
        if exc.status_code != 409:  # a parallel build created it: use that one
            raise
        created = {"Id": name()}
    api.start(created["Id"])


def _wait_until_listening(client: docker.DockerClient, container: str) -> None:
    """Until gunicorn says it listens (its log, read through the engine: no container IPs)."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        state = client.api.inspect_container(container)["State"]
        if not state.get("Running"):
            raise CacheDown(f"its container stopped (exit code {state.get('ExitCode')})")
        if b"Listening at" in client.api.logs(container, stdout=True, stderr=True, tail=50):
            return
        time.sleep(0.2)
    raise CacheDown(f"it did not start listening within {STARTUP_SECONDS:.0f} s")


def remove(client: docker.DockerClient) -> None:
    """Remove the cache's container and network (the volume, its downloads, stays)."""
    for call in (
        lambda: client.api.remove_container(name(), v=True, force=True),
        lambda: client.api.remove_network(name()),
    ):
        try:
            call()
        except docker_errors.NotFound:
            pass
