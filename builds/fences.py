"""The operator's limits for every container Deployer runs for a project (app, release, add-on)."""

from __future__ import annotations

from django.conf import settings

from builds.pipeline.fence import Fence


def operator_fence(network: str, memory_mb: int, *, cpus: float | None = None, **extra) -> Fence:
    """A Fence on `network` with `memory_mb` and the operator's CPU (or `cpus`, when lower),
    pids, log and runtime settings; `extra` sets the rest (user, capabilities, mounts)."""
    return Fence(
        network=network,
        memory_mb=memory_mb,
        cpus=min(cpus, settings.DEPLOYER_APP_CPUS) if cpus else settings.DEPLOYER_APP_CPUS,
        pids_limit=settings.DEPLOYER_APP_PIDS_LIMIT,
        log_driver=settings.DEPLOYER_APP_LOG_DRIVER,
        log_max_size=settings.DEPLOYER_APP_LOG_MAX_SIZE,
        log_max_files=settings.DEPLOYER_APP_LOG_MAX_FILES,
        runtime=settings.DEPLOYER_CONTAINER_RUNTIME,
        **extra,
    )
