"""The deploy health gate against a real HTTP server on 127.0.0.1 that starts late.

The engine is the one stand-in: a container that keeps running, and counts how often
it was looked at.
"""

from __future__ import annotations

import threading
import time
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
    """Listens on `port` only `boot` seconds after it is started, then answers `status`."""

    def __init__(self, boot: float, status: int = 200):
        self.port = free_port()
        self.boot, self.status = boot, status
        self.server: ThreadingHTTPServer | None = None
        self.listening_at: float | None = None
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        if self._stopped.wait(self.boot):
            return
        handler = type("Handler", (Handler,), {"status": self.status})
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self.listening_at = time.monotonic()
        self.server.serve_forever(poll_interval=0.05)

    def __enter__(self) -> App:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stopped.set()
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
    return health.wait_until_healthy(
        engine,
        "c1",
        port=app.port,
        path="/healthz",
        host="app.localhost",
        memory_mb=256,
        log=lines.append,
        **kwargs,
    )


def test_the_gate_opens_within_a_few_percent_of_the_app_listening():
    lines: list[str] = []
    engine = Engine()
    with App(boot=0.5) as app:
        attempts = wait(app, engine, lines, deadline=10)
        opened = time.monotonic()

    assert opened - app.listening_at < 0.5 / 20 + 0.02
    assert attempts > 10
    assert lines[-1].startswith(f"Health check {attempts}: GET /healthz (Host: app.localhost)")
    assert "answered 200" in lines[-1]


def test_a_slow_boot_logs_one_attempt_a_second_and_looks_at_the_container_sparingly():
    lines: list[str] = []
    engine = Engine()
    with App(boot=2.2) as app:
        wait(app, engine, lines, deadline=10)

    assert [line.startswith("Health check 1: ") for line in lines[:1]] == [True]
    assert len(lines) == 4  # the first attempt, one at about 1 s and 2 s, the answer
    assert engine.looks <= 2.2 / health.CHECK_EVERY + 1


def test_an_app_that_never_answers_well_fails_at_the_deadline_with_its_last_answer():
    lines: list[str] = []
    with App(boot=0, status=503) as app, pytest.raises(StageError) as failure:
        wait(app, Engine(), lines, deadline=2)

    assert "did not pass its health check within 2 s" in str(failure.value)
    assert "answered 503" in str(failure.value)
    attempts = [line for line in lines if line.startswith("Health check ")]
    assert len(attempts) == 3  # the first, one at about 1 s, the last at the deadline
    assert attempts[-1].endswith(": 503 Service Unavailable")


def test_a_container_that_exited_fails_the_gate_at_once():
    lines: list[str] = []
    started = time.monotonic()
    with App(boot=30) as app, pytest.raises(StageError, match="exited with code 3"):
        wait(app, Engine(status="exited"), lines, deadline=20)

    assert time.monotonic() - started < 1
    assert "Traceback: the app's last words" in lines


def test_a_cancel_stops_the_wait():
    with App(boot=30) as app, pytest.raises(BuildCancelled):
        wait(app, Engine(), [], deadline=20, should_cancel=lambda: True)
