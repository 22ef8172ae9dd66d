"""The worker's threads pool, waking the worker's event loop when a task has ended.

Tasks are acknowledged late (after they run), so a worker holds at most its prefetch window
of unacknowledged messages, and while the window is full it stops asking Redis for more. It
asks again when its event loop next wakes. Celery's prefork pool wakes the loop: its
children answer through pipes the loop watches. Its threads pool finishes a task in a thread
the loop knows nothing of, so the next message waited for the loop's next timer, up to 2 s:
in bench/ship.py code-only deploys sat queued 0.2-3.2 s while a retire task ran beside the
build (celery issues 4378 and 7718 describe the same wait). This pool writes a byte to a pipe
the loop watches once each task has ended and been acknowledged.
"""

from __future__ import annotations

import os

from celery.concurrency import thread


class TaskPool(thread.TaskPool):
    _wake_fd: int | None = None

    def register_with_event_loop(self, loop) -> None:
        super().register_with_event_loop(loop)
        read, write = os.pipe()
        os.set_blocking(read, False)
        os.set_blocking(write, False)
        loop.add_reader(read, _drain, read)
        self._wake_fd = write

    def on_apply(self, *args, **kwargs):
        result = super().on_apply(*args, **kwargs)
        # Done after the task's callback, which acknowledges its message.
        result.f.add_done_callback(self._wake)
        return result

    def _wake(self, _future=None) -> None:
        if self._wake_fd is None:  # no event loop (a broker without one polls on its own)
            return
        try:
            os.write(self._wake_fd, b"\0")
        except BlockingIOError:  # the pipe is full: the loop has wake-ups waiting already
            pass


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        pass
