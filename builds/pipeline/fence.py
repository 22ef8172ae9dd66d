"""What an app's containers may use and reach: one network per project, no capabilities,
no new privileges, pids, CPU, memory and log limits, a non-root user, the operator's runtime.

Plain values in, plain values out: the runner turns settings and the project into a Fence;
`host_config` turns a Fence into the engine's HostConfig keyword arguments, the same for the
web container (run.py) and the release container (release.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import docker
from docker import errors as docker_errors

from builds.docker import BUILD_CPU_SHARES, CPU_PERIOD, DEFAULT_CPU_SHARES, LABEL_PROJECT
from builds.pipeline.errors import StageError

NETWORK_PREFIX = "deployer-"
# Bridge interfaces are named `dpl-<hash>` so one host firewall rule (`-i dpl-+`) covers
# every project's network; Linux allows 15 characters.
BRIDGE_PREFIX = "dpl-"
ROOT_USERS = frozenset({"", "0", "root"})
# Given only to images that run as root because the project opted in: what an entrypoint
# that fixes ownership and then drops to its own user (gosu, su-exec, setpriv) needs.
ROOT_CAPABILITIES = ("CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID")


@dataclass(frozen=True)
class Fence:
    """The limits of one container. `user` None keeps the image's own user."""

    network: str
    memory_mb: int
    cpus: float
    pids_limit: int
    log_driver: str = "json-file"
    log_max_size: str = "10m"
    log_max_files: int = 3
    runtime: str = ""
    user: str | None = None
    cap_add: tuple[str, ...] = ()
    # Said after a failure of a container that runs as another user than its image asks.
    user_note: str = ""
    # Engine mounts (docker.types.Mount): the project's volume, when the app keeps data.
    mounts: tuple = ()


def host_config(fence: Fence, *, booting: bool = False) -> dict:
    """HostConfig keyword arguments (docker SDK names) for a container inside `fence`.

    `booting`: a web container's CPU limit waits until it answers its health check
    (`cpu_limit`, applied then): until then it has no CPU quota but half the default weight,
    so its workers start side by side on idle cores and yield to running apps. Two workers
    importing FastAPI under a 1-CPU quota took 0.45 s to answer, against 0.30 s unlimited.
    Every other container has its CPU quota from the start."""
    cpu = (
        {"cpu_shares": BUILD_CPU_SHARES}  # half the default weight, as a build step's
        if booting
        else {"nano_cpus": round(fence.cpus * 1_000_000_000)}
    )
    config = {
        "network_mode": fence.network,
        "mem_limit": f"{fence.memory_mb}m",
        "memswap_limit": f"{fence.memory_mb}m",  # no swap beyond the memory limit
        **cpu,
        "pids_limit": fence.pids_limit,
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges:true"],
        "log_config": {
            "type": fence.log_driver,
            "config": {"max-size": fence.log_max_size, "max-file": str(fence.log_max_files)},
        },
    }
    if fence.cap_add:
        config["cap_add"] = list(fence.cap_add)
    if fence.runtime:
        config["runtime"] = fence.runtime
    if fence.mounts:
        config["mounts"] = list(fence.mounts)
    return config


def cpu_limit(fence: Fence) -> dict:
    """`update_container` keyword arguments that give a booted web container its CPU quota
    and the default weight (the quota as period and quota: the engine's update takes those)."""
    return {
        "cpu_period": CPU_PERIOD,
        "cpu_quota": max(1000, round(fence.cpus * CPU_PERIOD)),
        "cpu_shares": DEFAULT_CPU_SHARES,
    }


def apply_cpu_limit(client: docker.DockerClient, container_id: str, fence: Fence) -> None:
    """Give the web container its CPU limit once it answers; raises StageError when the
    engine refuses (the build then fails: no app goes live without its limit)."""
    try:
        client.api.update_container(container_id, **cpu_limit(fence))
    except docker_errors.DockerException as exc:
        raise StageError(f"The container's CPU limit could not be set: {exc}") from exc


def network_name(project: str) -> str:
    return f"{NETWORK_PREFIX}{project}"


def bridge_name(project: str) -> str:
    return f"{BRIDGE_PREFIX}{hashlib.sha256(project.encode()).hexdigest()[:11]}"


def ensure_network(client: docker.DockerClient, project: str, labels: dict[str, str]) -> str:
    """The project's own bridge network, created on first use; returns its name.

    Containers of one project reach each other by name; other projects' networks are other
    bridges, which the engine's isolation rules keep apart. Raises StageError when the
    engine cannot create it (e.g. its address pools are used up) or the name is taken by a
    network Deployer did not make.
    """
    name = network_name(project)
    try:
        existing = client.api.inspect_network(name)
    except docker_errors.NotFound:
        existing = None
    except docker_errors.APIError as exc:
        raise StageError(
            f"The project's network {name} could not be looked up: {exc.explanation or exc}"
        ) from exc
    if existing is not None:
        if (existing.get("Labels") or {}).get(LABEL_PROJECT) != project:
            raise StageError(f"The Docker network {name} exists but is not this project's.")
        return name
    try:
        client.api.create_network(
            name,
            driver="bridge",
            labels=labels,
            check_duplicate=True,
            options={
                "com.docker.network.bridge.name": bridge_name(project),
                # The project's own containers (web, release, the one being replaced) talk.
                "com.docker.network.bridge.enable_icc": "true",
                "com.docker.network.bridge.enable_ip_masquerade": "true",
            },
        )
    except docker_errors.APIError as exc:
        if exc.status_code == 409:  # a parallel build of the project made it meanwhile
            return name
        detail = exc.explanation or exc
        hint = (
            " The engine's address pools are used up: give dockerd more "
            '(daemon.json "default-address-pools", e.g. base 172.16.0.0/12, size 24, as '
            "scripts/docker-engine.sh sets; read when dockerd starts)."
            if "address pool" in str(detail)
            else ""
        )
        raise StageError(
            f"The project's network {name} could not be created: {detail}.{hint}"
        ) from exc
    return name


def image_user(client: docker.DockerClient, image: str) -> str:
    """The user an image's config names (`USER`), "" when it names none."""
    try:
        config = client.api.inspect_image(image).get("Config") or {}
    except docker_errors.DockerException as exc:
        raise StageError(f"The image {image} could not be inspected: {exc}") from exc
    return (config.get("User") or "").strip()


def runs_as_root(user: str) -> bool:
    """Whether a `USER` value means root: none, `root` or uid 0, with or without a group."""
    return user.partition(":")[0].strip() in ROOT_USERS


def check_runtime(client: docker.DockerClient, runtime: str, *, setting: str) -> None:
    """Refuse a container runtime the engine does not have, naming the setting that asks."""
    if not runtime:
        return
    available = sorted((client.info().get("Runtimes") or {}).keys())
    if runtime not in available:
        raise StageError(
            f"{setting}={runtime!r} names a container runtime this Docker engine does not have "
            f"(it has: {', '.join(available) or 'none listed'}). Install and register it in "
            f"dockerd (e.g. gVisor's runsc) or unset {setting}."
        )
