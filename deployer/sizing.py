"""How many builds the worker runs at once and how many processes serve the dashboard, sized
from the machine (cores and memory) unless the DEPLOYER_* settings say otherwise.

Standard library only (and Django's exception class): gunicorn's config file loads this module
by path in its master process, which must stay free of Django and Celery.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

POOLS = ("threads", "prefork")
# A build's steps run on the engine with up to DEPLOYER_BUILD_MEMORY_MB each, but a typical
# pip install stays well under 1 GB: one build at once per GB keeps a small machine out of swap.
MB_PER_BUILD = 1024
# A build spends most of its time waiting on git, the engine and health checks, and under the
# threads pool a slot costs a thread, not a process: two builds per core keep the cores busy.
BUILDS_PER_CORE = 2
MAX_BUILDS = 16
# A dashboard process (Django loaded, about 70 MB) serves many requests with its threads; more
# processes only help pages that use the CPU, so one per two cores and per 2 GB, at most four.
MB_PER_WEB_WORKER = 2048
MAX_WEB_WORKERS = 4
DEFAULT_WEB_THREADS = 8


@dataclass(frozen=True)
class Sizing:
    worker_pool: str
    worker_concurrency: int
    web_workers: int
    web_threads: int


def size(
    cores: int,
    memory_mb: int,
    *,
    pool: str = "threads",
    concurrency: int = 0,
    web_workers: int = 0,
    web_threads: int = DEFAULT_WEB_THREADS,
) -> Sizing:
    """The worker's pool and concurrency and the web server's workers and threads for a machine
    with `cores` and `memory_mb`; an override above 0 wins over the computed value.

    Raises ImproperlyConfigured naming the setting when a value is out of range."""
    if pool not in POOLS:
        raise ImproperlyConfigured(f"DEPLOYER_WORKER_POOL must be one of {', '.join(POOLS)}.")
    for name, value in (
        ("DEPLOYER_WORKER_CONCURRENCY", concurrency),
        ("DEPLOYER_WEB_WORKERS", web_workers),
    ):
        if value < 0:
            raise ImproperlyConfigured(f"{name} must be 0 (sized from the machine) or more.")
    if web_threads < 1:
        raise ImproperlyConfigured("DEPLOYER_WEB_THREADS must be at least 1.")
    cores, memory_mb = max(1, cores), max(1, memory_mb)
    return Sizing(
        worker_pool=pool,
        worker_concurrency=concurrency
        or max(1, min(cores * BUILDS_PER_CORE, memory_mb // MB_PER_BUILD, MAX_BUILDS)),
        web_workers=web_workers
        or max(1, min(cores // 2, memory_mb // MB_PER_WEB_WORKER, MAX_WEB_WORKERS)),
        web_threads=web_threads,
    )


def machine_cores() -> int:
    """The cores this process may run on (a container's cpuset, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def machine_memory_mb(proc: Path = Path("/proc"), cgroup: Path = Path("/sys/fs/cgroup")) -> int:
    """The memory this process may use: the host's total, or its cgroup's limit when lower
    (a container started with a memory limit)."""
    total = 0
    try:
        for line in (proc / "meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                total = int(line.split()[1]) // 1024
    except OSError:
        total = 0
    for limit_file in (cgroup / "memory.max", cgroup / "memory" / "memory.limit_in_bytes"):
        try:
            text = limit_file.read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            limit = int(text) // (1024 * 1024)
            if 0 < limit < (total or limit + 1):
                total = limit
        break
    return total or 1024


def _integer(environ: Mapping[str, str], name: str, default: int) -> int:
    text = environ.get(name, "").strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise ImproperlyConfigured(
            f"Environment variable {name}={text!r} is invalid: it must be a whole number."
        ) from None


def from_environment(environ: Mapping[str, str] = os.environ) -> Sizing:
    """The sizing for this machine, with DEPLOYER_WORKER_POOL, DEPLOYER_WORKER_CONCURRENCY,
    DEPLOYER_WEB_WORKERS and DEPLOYER_WEB_THREADS applied."""
    return size(
        machine_cores(),
        machine_memory_mb(),
        pool=environ.get("DEPLOYER_WORKER_POOL", "").strip() or "threads",
        concurrency=_integer(environ, "DEPLOYER_WORKER_CONCURRENCY", 0),
        web_workers=_integer(environ, "DEPLOYER_WEB_WORKERS", 0),
        web_threads=_integer(environ, "DEPLOYER_WEB_THREADS", DEFAULT_WEB_THREADS),
    )
