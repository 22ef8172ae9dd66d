from __future__ import annotations

import threading

from monitoring import observe

NO_ENGINE = "unix:///nonexistent/deployer-test.sock"


class Clock:
    """Time that stands still until a test moves it."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_hanging_checks_are_given_up_after_their_budget_and_do_not_delay_the_others():
    # Two threads, one held by "hangs", so the other runs a, b, c and "hangs too" in turn,
    # each only once the one before is finished. "hangs too" moves the clock past both
    # hanging checks' budget (not past the whole run's) and blocks. No real time decides.
    clock = Clock()
    release = threading.Event()
    released: list[str] = []

    def check(name: str) -> str:
        if name == "hangs too":
            clock.now = 6
        if name.startswith("hangs"):
            release.wait(30)  # a bound so that a broken run cannot hang the suite
            released.append(name)
        return name.upper()

    try:
        results = observe.run_concurrently(
            check, ["a", "hangs", "b", "c", "hangs too"], budget=5, workers=2, clock=clock
        )
        returned_while_they_hang = not released
    finally:
        release.set()

    assert results == ["A", None, "B", "C", None]
    assert returned_while_they_hang


def test_checks_run_at_the_same_time_not_one_after_another():
    together = threading.Barrier(8)

    def check(n: int) -> int:
        together.wait(timeout=30)  # passes once all eight run at once; the bound avoids a hang
        return n

    results = observe.run_concurrently(check, list(range(8)), budget=5, workers=8, clock=Clock())

    assert results == list(range(8))


def test_more_apps_than_threads_are_all_checked():
    results = observe.run_concurrently(lambda n: n * 2, list(range(50)), budget=5, workers=4)

    assert results == [n * 2 for n in range(50)]


def test_a_check_that_raises_gives_none_and_the_others_still_count():
    def check(n: int) -> int:
        if n == 1:
            raise RuntimeError("bug")
        return n

    assert observe.run_concurrently(check, [0, 1, 2], budget=5, workers=2) == [0, None, 2]


def test_nothing_to_check_is_nothing():
    assert observe.run_concurrently(lambda n: n, [], budget=1, workers=4) == []


def test_an_unreachable_engine_is_an_engine_error_not_a_container_state(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", NO_ENGINE)
    target = observe.Target(1, "c0ffee", 49999, "/", "shop.localhost", 0)

    observation = observe.observe(target, timeout=2)

    assert observation.container is None
    assert "not reachable" in observation.engine_error
    assert "not reachable" in observe.engine_error(timeout=2)


def test_the_port_to_check_is_the_one_docker_publishes_now():
    attrs = {
        "NetworkSettings": {"Ports": {"8000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "41234"}]}}
    }

    assert observe.published_port(attrs, 8000) == 41234
    assert observe.published_port(attrs, 5000) is None
    assert observe.published_port({"NetworkSettings": {"Ports": {"8000/tcp": None}}}, 8000) is None
    assert observe.published_port({}, 8000) is None
