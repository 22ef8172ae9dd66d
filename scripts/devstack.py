"""Run the dashboard and a Celery worker (which runs beat's schedule in a thread) in the
foreground, with prefixed output, until Ctrl-C. The last step of scripts/dev.sh.

Standard library only, on purpose: this supervisor only starts, watches and stops the others,
and with Django loaded it cost about 70 MB of the platform's memory at rest for nothing.

    .venv/bin/python scripts/devstack.py [--addr 127.0.0.1:8000] [--concurrency N]

--addr defaults to DEPLOYER_DEV_ADDR (127.0.0.1:8000); --concurrency to the worker's own
sizing (DEPLOYER_WORKER_CONCURRENCY, or two per core; README "At rest").
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COLOURS = {"web": "\033[36m", "worker": "\033[35m"}
RESET = "\033[0m"


def commands(addr: str, concurrency: int | None, python: str = sys.executable) -> dict:
    """The processes of the development platform: the dashboard and one worker that also runs
    beat's schedule (`--beat-thread`), so there is no third process."""
    worker = [python, "-m", "celery", "-A", "deployer", "worker", "--loglevel=INFO"]
    worker.append("--beat-thread")
    if concurrency:
        worker.append(f"--concurrency={concurrency}")
    return {
        "web": [python, "manage.py", "runserver", addr, "--noreload"],
        "worker": worker,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the dashboard and a worker until Ctrl-C.")
    parser.add_argument("--addr", default=os.environ.get("DEPLOYER_DEV_ADDR", "127.0.0.1:8000"))
    parser.add_argument("--concurrency", type=int, default=None)
    args = parser.parse_args(argv)
    if args.concurrency is not None and args.concurrency < 1:
        parser.error("--concurrency must be at least 1")

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
    for name, command in commands(args.addr, args.concurrency).items():
        # Own process groups, so that one Ctrl-C is handled here once, in order.
        processes[name] = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=pump, args=(name, processes[name]), daemon=True).start()
    print(f"Deployer is running at http://{args.addr}/ (Ctrl-C stops everything)", flush=True)

    stopping = False

    def stop(*_args) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping and all(p.poll() is None for p in processes.values()):
        time.sleep(0.2)
    status = 0
    for name, process in processes.items():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        elif not stopping:
            print(
                f"{name} exited with status {process.returncode}; stopping the others",
                file=sys.stderr,
            )
            status = 1
    deadline = time.monotonic() + 15
    for process in processes.values():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
    print("Stopped the dashboard and the worker.", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
