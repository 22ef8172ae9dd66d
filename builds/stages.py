"""Recording a build's progress: its state per stage, timings, heartbeat and the reason it failed."""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

import requests
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.utils import timezone
from docker import errors as docker_errors

from builds import docker as docker_seam
from builds.buildlog import BuildLog
from builds.models import Build
from builds.pipeline.errors import BuildCancelled, StageError
from monitoring import tasks as monitoring_tasks


class BuildStopped(Exception):
    """The build ended (failed or cancelled) and that is recorded; nothing more to do."""


def claim(build: Build, worker: str) -> bool:
    """Move a queued build to cloning unless another build of its project is running.

    A conditional UPDATE: two workers can never both claim it, and the database's
    one_running_build_per_project constraint refuses a second running build of a project
    even when two claims race. False when the build must wait or is no longer queued.
    """
    now = timezone.now()
    try:
        with transaction.atomic():
            claimed = Build.objects.filter(pk=build.pk, state=Build.State.QUEUED).update(
                state=Build.State.CLONING, started_at=now, heartbeat_at=now, worker=worker
            )
    except IntegrityError:  # another build of the project is running
        Build.objects.filter(pk=build.pk, state=Build.State.QUEUED).update(dispatched_at=now)
        return False
    if claimed:
        build.refresh_from_db()
    return bool(claimed)


def cancel_requested(build: Build) -> bool:
    return Build.objects.filter(pk=build.pk, cancel_requested=True).exists()


@contextmanager
def stage(build: Build, state: str, log: BuildLog) -> Iterator[None]:
    """Run one stage: record its state and timings; turn its failure into the build's outcome."""
    started = timezone.now()
    # One query: the build moves to this stage unless a cancel was asked for (or it is gone).
    if not Build.objects.filter(pk=build.pk, cancel_requested=False).update(state=state):
        _finish(build, Build.State.CANCELLED, state, "Cancelled by a user.", log)
        raise BuildStopped()
    build.state = state
    log.stage = state
    log(f"==> {Build.State(state).label}")
    try:
        yield
    except BuildCancelled:
        _record_timing(build, state, started)
        _finish(build, Build.State.CANCELLED, state, "Cancelled by a user.", log)
        raise BuildStopped() from None
    except StageError as exc:
        _record_timing(build, state, started)
        _finish(build, Build.State.FAILED, state, str(exc), log)
        raise BuildStopped() from None
    except (
        docker_seam.DockerUnavailable,
        docker_errors.DockerException,
        requests.exceptions.RequestException,
    ) as exc:
        # The engine's own words, as one sentence; a refusal is no bug of Deployer's.
        _record_timing(build, state, started)
        _finish(build, Build.State.FAILED, state, docker_seam.describe_error(exc), log)
        raise BuildStopped() from None
    except SoftTimeLimitExceeded:
        _record_timing(build, state, started)
        reason = f"The build exceeded its time limit of {settings.CELERY_TASK_SOFT_TIME_LIMIT} s."
        _finish(build, Build.State.FAILED, state, reason, log)
        raise BuildStopped() from None
    except Exception as exc:  # noqa: BLE001 - any fault becomes the build's reason
        _record_timing(build, state, started)
        log(traceback.format_exc())
        reason = f"Deployer hit an internal error ({type(exc).__name__}: {exc})."
        _finish(build, Build.State.FAILED, state, reason, log)
        raise BuildStopped() from None
    _record_timing(build, state, started)


def _record_timing(build: Build, state: str, started) -> None:
    finished = timezone.now()
    build.stage_timings[state] = {
        "started": started.isoformat(),
        "finished": finished.isoformat(),
        "seconds": round((finished - started).total_seconds(), 3),
    }
    Build.objects.filter(pk=build.pk).update(stage_timings=build.stage_timings)


def _finish(build: Build, outcome: str, stage_name: str, reason: str, log: BuildLog) -> None:
    # A reason quotes what failed (git's error, the engine's, the app's last words): it is
    # stored, shown on pages and sent in notifications, so the project's secrets go first.
    reason = log.redact(reason)
    log(f"==> {Build.State(outcome).label}: {reason}")
    log.flush()  # whoever sees the build end finds the lines that explain it
    Build.objects.filter(pk=build.pk).update(
        state=outcome, failure_stage=stage_name, failure_reason=reason, finished_at=timezone.now()
    )
    build.state, build.failure_stage, build.failure_reason = outcome, stage_name, reason
    monitoring_tasks.announce_build(build.pk)  # notifies of a failure; ignores a cancel


@contextmanager
def heartbeat(build: Build) -> Iterator[None]:
    """Touch `heartbeat_at` every few seconds while the build runs, from a thread of its own.

    Never past the task's hard time limit: a build still running then is stuck where no
    exception reaches it (a pool thread cannot be killed as a prefork child is), and without
    heartbeats the reaper fails it, removes its containers and frees its project."""
    stop = threading.Event()
    interval = settings.DEPLOYER_BUILD_HEARTBEAT_SECONDS
    hard_limit_at = time.monotonic() + settings.CELERY_TASK_TIME_LIMIT

    def beat() -> None:
        try:
            while not stop.wait(interval) and time.monotonic() < hard_limit_at:
                Build.objects.filter(pk=build.pk).update(heartbeat_at=timezone.now())
        finally:
            connection.close()

    thread = threading.Thread(target=beat, name=f"heartbeat-{build.pk}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
        close_old_connections()
