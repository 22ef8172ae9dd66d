"""The deploy health gate against a real HTTP server on 127.0.0.1 that starts late.

The gate's time is fake: it moves only when the gate sleeps, so a slow boot costs no real
time and every run sees the same probes. The engine is the one stand-in: a container that
keeps running, and counts how often it was looked at.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

from builds.pipeline import health
from builds.pipeline.errors import BuildCancelled, StageError
from builds.pipeline.run import free_port


class Handler(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


class App:
    """Listens on `port` once the gate's clock reaches `boot` seconds, then answers `status`.

    `clock` and `sleep` are the gate's time: `sleep` records the pause, moves `now` on at
    once and starts the server when its boot time has come, before the next probe.
    """

    def __init__(self, boot: float, status: int = 200):
        self.port = free_port()
        self.boot, self.status = boot, status
        self.now = 0.0
        self.sleeps: list[float] = []
        self.logged_at: list[float] = []
        self.server: ThreadingHTTPServer | None = None

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        self._listen_when_booted()

    def _listen_when_booted(self) -> None:
        if self.server is not None or self.now < self.boot:
            return
        handler = type("Handler", (Handler,), {"status": self.status})
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def __enter__(self) -> App:
        self._listen_when_booted()
        return self

    def __exit__(self, *exc) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


class Engine:
    """The Docker client's one call the gate makes: a container's state."""

    def __init__(self, status: str = "running"):
        self.looks = 0
        self.status = status
        self.containers = SimpleNamespace(get=self._get)

    def _get(self, container_id: str):
        self.looks += 1
        return SimpleNamespace(
            attrs={"State": {"Status": self.status, "ExitCode": 3}},
            logs=lambda **kwargs: b"Traceback: the app's last words\n",
        )


def wait(app: App, engine: Engine, lines: list[str], **kwargs) -> int:
    def log(line: str) -> None:
        lines.append(line)
        app.logged_at.append(app.now)

    return health.wait_until_healthy(
        engine,
        "c1",
        port=app.port,
        path="/healthz",
        host="app.localhost",
        memory_mb=256,
        log=log,
        clock=app.clock,
        sleep=app.sleep,
        **kwargs,
    )


def test_the_gate_opens_within_a_twentieth_of_the_time_the_app_took_to_listen():
    lines: list[str] = []
    with App(boot=0.5) as app:
        attempts = wait(app, Engine(), lines, deadline=10)

    assert 0 <= app.now - app.boot <= app.now / 20
    assert attempts == len(app.sleeps) + 1 > 10
    assert lines[-1] == (
        f"Health check {attempts}: GET /healthz (Host: app.localhost) "
        f"answered 200 after {app.now:.2f} s"
    )


def test_probes_go_every_interval_at_first_then_after_a_twentieth_of_the_time_waited():
    with App(boot=100) as app, pytest.raises(StageError):
        wait(app, Engine(), [], deadline=60, interval=0.01, max_interval=2.0)

    waited = 0.0
    for pause in app.sleeps:
        assert pause == pytest.approx(min(max(0.01, waited / 20), 2.0, 60 - waited))
        waited += pause
    assert app.sleeps[:3] == [0.01, 0.01, 0.01]
    assert app.sleeps[-2] == 2.0  # capped at max_interval
    assert waited == pytest.approx(60)


def test_a_slow_boot_logs_one_attempt_a_second_and_looks_at_the_container_sparingly():
    lines: list[str] = []
    engine = Engine()
    with App(boot=2.2) as app:
        attempts = wait(app, engine, lines, deadline=10)

    assert lines[0].startswith("Health check 1: ")
    # The first attempt, one at about 1 s and 2 s, the answer.
    assert [int(seconds) for seconds in app.logged_at] == [0, 1, 2, 2]
    # At most four looks a second, far fewer than the probes.
    assert engine.looks <= 2.2 * 4 + 1
    assert attempts > 5 * engine.looks


def test_an_app_that_never_answers_well_fails_at_the_deadline_with_its_last_answer():
    lines: list[str] = []
    with App(boot=0, status=503) as app, pytest.raises(StageError) as failure:
        wait(app, Engine(), lines, deadline=2)

    assert "did not pass its health check within 2 s" in str(failure.value)
    assert "answered 503" in str(failure.value)
    attempts = [line for line in lines if line.startswith("Health check ")]
    assert len(attempts) == 3  # the first, one at about 1 s, the last at the deadline
    assert attempts[-1].endswith(": 503 Service Unavailable")
    assert app.now == pytest.approx(2)  # the last wait ends at the deadline, not past it


def test_a_container_that_exited_fails_the_gate_at_once():
    lines: list[str] = []
    with App(boot=30) as app, pytest.raises(StageError, match="exited with code 3"):
        wait(app, Engine(status="exited"), lines, deadline=20)

    assert app.sleeps == []  # on the first look, without waiting
    assert "Traceback: the app's last words" in lines


def test_a_cancel_stops_the_wait():
    with App(boot=30) as app, pytest.raises(BuildCancelled):
        wait(app, Engine(), [], deadline=20, should_cancel=lambda: True)

    assert app.sleeps == []
