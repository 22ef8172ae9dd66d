"""Run the dashboard, a Celery worker and beat together, with prefixed output, until Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

from django.core.management.base import BaseCommand

COLOURS = {"web": "\033[36m", "worker": "\033[35m", "beat": "\033[33m"}
RESET = "\033[0m"


def _commands(addr: str, concurrency: int) -> dict[str, list[str]]:
    python = sys.executable
    return {
        "web": [python, "manage.py", "runserver", addr, "--noreload"],
        "worker": [
            python,
            "-m",
            "celery",
            "-A",
            "deployer",
            "worker",
            "--loglevel=INFO",
            f"--concurrency={concurrency}",
        ],
        "beat": [python, "-m", "celery", "-A", "deployer", "beat", "--loglevel=INFO"],
    }


class Command(BaseCommand):
    help = "Run web, worker and beat in the foreground; Ctrl-C stops all of them."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--addr", default=os.environ.get("DEPLOYER_DEV_ADDR", "127.0.0.1:8000"))
        parser.add_argument("--concurrency", type=int, default=2)

    def handle(self, *args, addr: str, concurrency: int, **options) -> None:
        width = max(map(len, COLOURS))
        processes: dict[str, subprocess.Popen] = {}
        lock = threading.Lock()

        def pump(name: str, process: subprocess.Popen) -> None:
            prefix = f"{COLOURS[name]}{name:<{width}} |{RESET} "
            for line in process.stdout:
                with lock:
                    sys.stdout.write(prefix + line)
                    sys.stdout.flush()

        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        for name, argv in _commands(addr, concurrency).items():
            # Own process groups, so that one Ctrl-C is handled here once, in order.
            processes[name] = subprocess.Popen(
                argv,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )
            threading.Thread(target=pump, args=(name, processes[name]), daemon=True).start()
        self.stdout.write(f"Deployer is running at http://{addr}/ (Ctrl-C stops everything)")

        stopping = False

        def stop(*_args) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        while not stopping and all(p.poll() is None for p in processes.values()):
            time.sleep(0.2)
        for name, process in processes.items():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            elif not stopping:
                self.stderr.write(
                    f"{name} exited with status {process.returncode}; stopping the others"
                )
        deadline = time.monotonic() + 15
        for process in processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
        self.stdout.write("Stopped web, worker and beat.")
