"""Two steps of the worker's start-up that let one process do what three did (issue 22, part 3).

- BeatThread (`celery worker --beat-thread`): beat's schedule runs in a thread of the worker.
  Celery's own `-B` forks a second process for it, a copy of the worker's memory.
- ThreadTimeLimits: Celery's threads pool ignores task time limits. This step enforces them as
  the prefork pool does with a signal: at the soft limit SoftTimeLimitExceeded is raised in the
  task's thread (at its next Python instruction, as a signal handler would), at the hard limit
  TimeLimitExceeded is raised again for a task that swallowed the first. A thread cannot be
  killed as a prefork child is; a build stuck in C past its hard limit stops sending heartbeats
  (builds/stages.py), so the reaper fails it and removes its containers, and its project can
  deploy again.
"""

from __future__ import annotations

import ctypes
import logging
import threading
import time
from dataclasses import dataclass

from celery import bootsteps
from celery.concurrency import thread
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from celery.signals import task_postrun, task_prerun

logger = logging.getLogger(__name__)


class BeatThread(bootsteps.StartStopStep):
    """Run celery beat's scheduler as a thread of this worker when started with --beat-thread.

    Only one process of an installation may run the schedule: one worker with this flag, or a
    separate `celery beat`, never both."""

    label = "Beat (thread)"
    conditional = True

    def __init__(self, worker, beat_thread: bool = False, **kwargs) -> None:
        self.enabled = bool(beat_thread)
        super().__init__(worker, **kwargs)

    def create(self, worker):
        from celery.beat import EmbeddedService

        return EmbeddedService(
            worker.app,
            thread=True,
            schedule_filename=worker.schedule_filename,
            scheduler_cls=worker.scheduler,
        )


def raise_in_thread(ident: int, exception: type[BaseException]) -> bool:
    """Have thread `ident` raise `exception` at its next Python instruction (a signal handler's
    timing, as under prefork). False when no such thread is running."""
    modified = ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(ident), ctypes.py_object(exception)
    )
    return modified == 1


@dataclass
class _Running:
    task: str
    task_id: str
    soft_at: float | None
    hard_at: float | None
    raised: type[BaseException] | None = None


class Watchdog:
    """Tasks running in pool threads, and the moments their time limits pass."""

    def __init__(self, interval: float = 1.0) -> None:
        self.interval = interval
        self._running: dict[int, _Running] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="task-time-limits", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def started(self, name: str, task_id: str, soft: float | None, hard: float | None) -> None:
        if not soft and not hard:
            return
        now = time.monotonic()
        with self._lock:
            self._running[threading.get_ident()] = _Running(
                name, task_id, now + soft if soft else None, now + hard if hard else None
            )

    def finished(self) -> None:
        """The task of this thread ended. A limit the watchdog passed just then is delivered
        here (the watchdog sends under the lock this waits for) and dropped: it was for the
        task that has ended, and must not reach the pool's own code."""
        ident = threading.get_ident()
        while True:
            try:
                with self._lock:
                    self._running.pop(ident, None)
                return
            except (SoftTimeLimitExceeded, TimeLimitExceeded):
                continue

    def check(self, now: float) -> None:
        with self._lock:
            for ident, running in self._running.items():
                if running.hard_at and now >= running.hard_at:
                    if running.raised is not TimeLimitExceeded:
                        logger.error(
                            "Task %s[%s] passed its hard time limit; raising TimeLimitExceeded "
                            "in its thread",
                            running.task,
                            running.task_id,
                        )
                        running.raised = TimeLimitExceeded
                        raise_in_thread(ident, TimeLimitExceeded)
                elif running.soft_at and now >= running.soft_at and running.raised is None:
                    logger.warning(
                        "Task %s[%s] passed its soft time limit", running.task, running.task_id
                    )
                    running.raised = SoftTimeLimitExceeded
                    raise_in_thread(ident, SoftTimeLimitExceeded)

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            self.check(time.monotonic())


_watchdog: Watchdog | None = None


def time_limits(task) -> tuple[float | None, float | None]:
    """(soft, hard) seconds for a running task, in Celery's order: the message's, the task's,
    the app's configuration."""
    hard, soft = getattr(task.request, "timelimit", None) or (None, None)
    conf = task.app.conf
    return (
        soft or task.soft_time_limit or conf.task_soft_time_limit,
        hard or task.time_limit or conf.task_time_limit,
    )


@task_prerun.connect
def _task_started(sender=None, task_id=None, task=None, **kwargs) -> None:
    if _watchdog is not None and task is not None and not task.request.is_eager:
        soft, hard = time_limits(task)
        _watchdog.started(task.name, task_id or "", soft, hard)


@task_postrun.connect
def _task_finished(sender=None, task=None, **kwargs) -> None:
    if _watchdog is not None and task is not None and not task.request.is_eager:
        _watchdog.finished()


class ThreadTimeLimits(bootsteps.StartStopStep):
    """Start the watchdog when the worker's pool is threads (prefork enforces limits itself)."""

    label = "Time limits (threads)"
    requires = ("celery.worker.components:Pool",)

    def create(self, worker):
        global _watchdog
        if not (isinstance(worker.pool_cls, type) and issubclass(worker.pool_cls, thread.TaskPool)):
            return None
        _watchdog = Watchdog()
        return _watchdog
