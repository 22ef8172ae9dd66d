"""Following a stream from the Docker engine while watching the clock and the cancel button."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable

from docker import errors as docker_errors

from builds.pipeline.errors import BuildCancelled, StageError

_DONE = object()
# Chunks waiting for the stage's thread: the reader waits beyond this (the engine's stream
# then waits too), so a fast producer never fills the worker's memory.
QUEUE_CHUNKS = 256


class Lines:
    """Cuts streamed text into lines of at most `limit` characters.

    Output with no newline (a progress bar, `print(x, end="")`) never piles up: past
    `limit` the line so far is given with a notice and the rest of it is dropped until the
    next newline.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._pending = ""
        self._dropping = False

    def feed(self, text: str) -> list[str]:
        lines = []
        *complete, rest = (self._pending + text).split("\n")
        for line in complete:
            if not self._dropping:
                lines.append(line)
            self._dropping = False
        if self._dropping:
            rest = ""
        elif len(rest) > self.limit:
            lines.append(f"{rest[: self.limit]} [deployer: line cut at {self.limit} characters]")
            rest, self._dropping = "", True
        self._pending = rest
        return lines

    def end(self) -> list[str]:
        rest, self._pending = self._pending, ""
        return [rest] if rest and not self._dropping else []


def follow(
    produce: Callable[[Callable[[object], None]], None],
    handle: Callable[[object], None],
    *,
    timeout: float,
    timeout_message: str,
    should_cancel: Callable[[], bool],
    abort: Callable[[], None] = lambda: None,
    cancel_every: float = 1.0,
) -> None:
    """Run `produce(put)` in a reader thread and pass each item it puts to `handle` here.

    The engine's streams block while a step prints nothing, so reading happens in a
    thread of its own: the time limit and cancellation are noticed within a second
    regardless. On either, or on any error in `handle`, `abort()` is called (it should
    make the stream end) and the exception propagates: StageError(timeout_message)
    or BuildCancelled.
    """
    items: queue.Queue = queue.Queue(maxsize=QUEUE_CHUNKS)

    def read() -> None:
        try:
            produce(items.put)
        finally:
            items.put(_DONE)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout
    next_cancel_check = 0.0
    try:
        while True:
            try:
                item = items.get(timeout=0.5)
            except queue.Empty:
                item = None
            if item is _DONE:
                return
            if item is not None:
                handle(item)
            now = time.monotonic()
            if now > deadline:
                raise StageError(timeout_message)
            if now >= next_cancel_check:
                next_cancel_check = now + cancel_every
                if should_cancel():
                    raise BuildCancelled()
    except BaseException:
        abort()
        reader.join(timeout=10)
        raise


def follow_container(
    container,
    emit: Callable[[str], None],
    *,
    max_line_chars: int,
    timeout: float,
    timeout_message: str,
    should_cancel: Callable[[], bool],
    abort: Callable[[], None],
) -> int | None:
    """Pass each line a started container prints (stdout and stderr, cut at
    `max_line_chars`) to `emit` until it exits, then return its exit code. The time limit
    and cancellation are `follow`'s: `abort()` is called and StageError or BuildCancelled
    propagates."""
    lines = Lines(max_line_chars)

    def produce(put: Callable[[object], None]) -> None:
        try:
            for chunk in container.logs(stream=True, follow=True):
                put(chunk.decode("utf-8", "replace"))
        except docker_errors.DockerException:
            pass  # the container is gone: its exit code says the rest

    def handle(chunk: object) -> None:
        for line in lines.feed(str(chunk)):
            emit(line)

    follow(
        produce,
        handle,
        timeout=timeout,
        timeout_message=timeout_message,
        should_cancel=should_cancel,
        abort=abort,
    )
    for line in lines.end():
        emit(line)
    return container.wait(timeout=30).get("StatusCode")
