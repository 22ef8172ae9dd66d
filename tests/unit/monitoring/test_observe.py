from __future__ import annotations

import threading
import time

from monitoring import observe

NO_ENGINE = "unix:///nonexistent/deployer-test.sock"


def test_one_hanging_check_does_not_delay_the_others():
    release = threading.Event()

    def check(name: str) -> str:
        if name == "hangs":
            release.wait(10)
        return name.upper()

    started = time.monotonic()
    results = observe.run_concurrently(check, ["a", "hangs", "b", "c"], budget=0.3, workers=4)
    elapsed = time.monotonic() - started
    release.set()

    assert results == ["A", None, "B", "C"]
    assert elapsed < 2


def test_checks_run_at_the_same_time_not_one_after_another():
    def check(_: int) -> float:
        time.sleep(0.3)
        return time.monotonic()

    started = time.monotonic()
    observe.run_concurrently(check, list(range(8)), budget=5, workers=8)

    assert time.monotonic() - started < 1.5


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
