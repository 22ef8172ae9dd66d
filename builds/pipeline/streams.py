"""Following a stream from the Docker engine while watching the clock and the cancel button."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable

from builds.pipeline.errors import BuildCancelled, StageError

_DONE = object()


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
    items: queue.Queue = queue.Queue()

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
