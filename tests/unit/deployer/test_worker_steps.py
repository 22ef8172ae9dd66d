from __future__ import annotations

import threading
import time

from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded

from deployer.worker_steps import Watchdog


def _task_thread(watchdog: Watchdog, soft, hard, swallow_soft=False, run_for=5.0):
    """A pool thread running a pure-Python loop under the watchdog; returns what ended it."""
    outcome: dict[str, object] = {}
    registered = threading.Event()

    def run() -> None:
        watchdog.started("tests.busy", "id-1", soft, hard)
        registered.set()
        deadline = time.monotonic() + run_for
        try:
            while time.monotonic() < deadline:
                try:
                    while time.monotonic() < deadline:
                        time.sleep(0.01)
                except SoftTimeLimitExceeded:
                    if not swallow_soft:
                        raise
                    outcome["swallowed"] = True
            outcome["ended"] = "finished"
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            outcome["ended"] = type(exc)
        finally:
            watchdog.finished()

    thread = threading.Thread(target=run)
    thread.start()
    registered.wait(2)
    return thread, outcome


def test_the_soft_limit_raises_in_the_tasks_thread():
    watchdog = Watchdog(interval=0.05)
    watchdog.start()
    try:
        thread, outcome = _task_thread(watchdog, soft=0.2, hard=10)
        thread.join(3)
    finally:
        watchdog.stop()

    assert outcome["ended"] is SoftTimeLimitExceeded


def test_the_hard_limit_raises_again_in_a_task_that_swallowed_the_soft_one():
    watchdog = Watchdog(interval=0.05)
    watchdog.start()
    try:
        thread, outcome = _task_thread(watchdog, soft=0.2, hard=0.6, swallow_soft=True)
        thread.join(3)
    finally:
        watchdog.stop()

    assert outcome["swallowed"] is True
    assert outcome["ended"] is TimeLimitExceeded


def test_a_task_that_ends_in_time_is_left_alone():
    watchdog = Watchdog(interval=0.05)
    watchdog.start()
    try:
        thread, outcome = _task_thread(watchdog, soft=5, hard=6, run_for=0.2)
        thread.join(3)
        time.sleep(0.2)  # the watchdog looks again after the task ended
    finally:
        watchdog.stop()

    assert outcome["ended"] == "finished"


def test_a_limit_passed_just_as_tasks_end_never_reaches_the_pool():
    """Many tasks that end at their soft limit: whatever the watchdog sends as one ends is
    dropped in finished(), so the pool thread lives on and nothing stays registered."""
    watchdog = Watchdog(interval=0.0005)
    watchdog.start()
    leaked: list[BaseException] = []
    done = threading.Event()

    def pool_thread() -> None:
        try:
            for number in range(300):
                try:  # the executor's work item: whatever the task raises ends in its future
                    # As Celery's tracer: the prerun signal, the task and its errors in one
                    # try, the postrun signal in its finally.
                    try:
                        watchdog.started("tests.edge", f"id-{number}", 0.001, 0.002)
                        end = time.monotonic() + 0.001
                        while time.monotonic() < end:
                            pass
                    except (SoftTimeLimitExceeded, TimeLimitExceeded):
                        pass  # the task's own outcome
                    finally:
                        watchdog.finished()
                except (SoftTimeLimitExceeded, TimeLimitExceeded):
                    pass  # the task's future holds it
            for _ in range(2000):  # the pool's own code, after the last task
                time.sleep(0)
            done.set()
        except BaseException as exc:  # noqa: BLE001 - a leak is what the test looks for
            leaked.append(exc)

    thread = threading.Thread(target=pool_thread)
    thread.start()
    thread.join(20)
    watchdog.stop()

    assert leaked == []
    assert done.is_set()
    assert watchdog._running == {}
