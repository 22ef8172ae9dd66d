"""The threads pool wakes the worker's event loop once a task has ended and been acknowledged."""

from __future__ import annotations

import fcntl
import os
import select
import threading

import pytest
from celery.concurrency import thread

from deployer.worker_pool import TaskPool

F_SETPIPE_SZ = 1031  # Linux's fcntl, not exported by Python 3.11's module


class Loop:
    """Records what the pool asks the worker's event loop (kombu's Hub) to watch."""

    def __init__(self) -> None:
        self.readers: list[tuple[int, object, tuple]] = []

    def add_reader(self, fd, callback, *args) -> None:
        self.readers.append((fd, callback, args))


def ACK(_result) -> None:
    """Stands for the request's callback, which acknowledges its message."""


def started_pool() -> tuple[TaskPool, Loop]:
    pool = TaskPool(limit=2)
    loop = Loop()
    pool.register_with_event_loop(loop)
    return pool, loop


def test_the_loop_is_woken_after_the_task_and_its_acknowledgement():
    pool, loop = started_pool()
    [(fd, drain, args)] = loop.readers
    release = threading.Event()
    events: list[str] = []
    try:
        pool.apply_async(
            lambda: release.wait(10) and events.append("ran"),
            callback=lambda _result: events.append("acknowledged"),
        )
        assert select.select([fd], [], [], 0.2)[0] == []  # nothing to wake for yet

        release.set()
        readable, _, _ = select.select([fd], [], [], 10)

        assert readable == [fd]
        assert events == ["ran", "acknowledged"]
        drain(*args)
        assert select.select([fd], [], [], 0)[0] == []  # drained: the loop sleeps again
    finally:
        pool.on_stop()


def test_many_tasks_ending_at_once_never_block_on_a_full_pipe():
    pool, _loop = started_pool()
    fcntl.fcntl(pool._wake_fd, F_SETPIPE_SZ, 4096)  # one page: 10,000 wake-ups overflow it
    try:
        results = [pool.apply_async(lambda: None, callback=ACK) for _ in range(10_000)]
        for result in results:
            result.wait(30)

        assert all(result.f.done() and result.f.exception() is None for result in results)
        with pytest.raises(BlockingIOError):  # the pipe is full indeed, and no task hung on it
            os.write(pool._wake_fd, b"\0")
    finally:
        pool.on_stop()


def test_without_an_event_loop_it_runs_tasks_as_celery_s_own_pool():
    pool = TaskPool(limit=1)
    done = threading.Event()
    try:
        pool.apply_async(done.set, callback=ACK).wait(10)

        assert done.is_set()
        assert isinstance(pool, thread.TaskPool)
    finally:
        pool.on_stop()
