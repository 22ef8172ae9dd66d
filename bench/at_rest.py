"""The platform at rest: start it as the README's quick start does, wait until it idles, and
sum the memory of every one of its processes.

    .venv/bin/python bench/at_rest.py [--settle 30] [--addr 127.0.0.1:18225] [--label after]
    .venv/bin/python bench/at_rest.py --compose [--shape before]

--compose runs the processes of docker-compose.yml's web and worker services (their commands,
on the host) on PostgreSQL and Redis as Compose does (a database of the bench's own, Redis
DB 5); `--shape before` runs the commands Compose had before issue 22 (gunicorn 3 workers x 4
threads, a prefork worker of concurrency 2, a separate beat) for the comparison.

`scripts/dev.sh` runs with the embedded defaults (SQLite under var/, the file-system broker:
DATABASE_URL and REDIS_URL are removed from its environment), its own Caddy admin port and
dashboard address, in a process group of its own. Once the dashboard answers, the bench waits
until the worker has made its first rounds (engine reconcile, route reconcile, heartbeat) and
the summed RSS has stopped moving, then reads /proc/<pid>/status (VmRSS) and
/proc/<pid>/smaps_rollup (Pss) of the supervisor and all its descendants, prints a table, and
stops everything with SIGTERM (the quick start's Ctrl-C). Caddy is not counted: it is the
router, started beside the platform (scripts/caddy.sh), not one of web, worker and beat.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        tree.setdefault(int(fields[1]), []).append(int(entry))
    return tree


def descendants(pid: int) -> list[int]:
    tree, found, todo = _children(), [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(tree.get(current, []))
    return found


def memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in kB, from /proc."""
    rss = pss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            pss = int(line.split()[1])
    return rss, pss


def describe(pid: int) -> str:
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    words = [Path(a.decode()).name if i == 0 else a.decode() for i, a in enumerate(argv) if a]
    text = " ".join(words)
    threads = next(
        line.split()[1]
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if line.startswith("Threads:")
    )
    return f"{text[:90]} ({threads} threads)"


def snapshot(root_pid: int) -> list[tuple[int, str, int, int]]:
    rows = []
    for pid in descendants(root_pid):
        try:
            command = describe(pid)
            if command.startswith(("bash", "sleep")):
                continue  # dev.sh's exec makes the root python; --compose's root is a shell
            rss, pss = memory_kb(pid)
        except (OSError, StopIteration):
            continue  # it ended while being read
        rows.append((pid, command, rss, pss))
    return rows


def wait_for_dashboard(addr: str, process: subprocess.Popen, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            sys.exit(f"scripts/dev.sh exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://{addr}/healthz", timeout=2) as answer:
                if answer.status < 500:
                    return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.5)
    sys.exit(f"the dashboard did not answer on {addr} within {timeout:.0f} s")


COMPOSE = {
    # docker-compose.yml's commands; gunicorn sizes itself from gunicorn.conf.py.
    "now": {
        "web": ["gunicorn", "deployer.wsgi:application", "--bind", "127.0.0.1:{port}"],
        "worker": [
            "celery",
            "-A",
            "deployer",
            "worker",
            "--loglevel=INFO",
            "--beat-thread",
            "--schedule-filename={var}/at-rest-beat-schedule",
        ],
    },
    "before": {
        "web": [
            "gunicorn",
            "deployer.wsgi:application",
            "--bind",
            "127.0.0.1:{port}",
            "--workers",
            "3",
            "--threads",
            "4",
        ],
        "worker": [
            "celery",
            "-A",
            "deployer",
            "worker",
            "--loglevel=INFO",
            "--concurrency=2",
            "--pool=prefork",
        ],
        "beat": [
            "celery",
            "-A",
            "deployer",
            "beat",
            "--loglevel=INFO",
            "--schedule={var}/at-rest-beat-schedule",
        ],
    },
}


def start_compose_shape(shape: str, port: str, log) -> subprocess.Popen:
    """The Compose services' processes under one parent (a shell), on PostgreSQL and Redis."""
    sys.path.insert(0, str(ROOT))
    from bench import harness

    database_url = harness.setup_django("atrest", 5)
    bin_dir = Path(sys.executable).parent
    lines = []
    for argv in COMPOSE[shape].values():
        argv = [a.format(port=port, var=ROOT / "var") for a in argv]
        lines.append(" ".join([str(bin_dir / argv[0]), *argv[1:]]) + " &")
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": "redis://127.0.0.1:6379/5"}
    env.pop("DEPLOYER_ENV", None)
    if shape == "before":
        # Celery takes `--pool=prefork` for its default and lets the configured pool win.
        env["DEPLOYER_WORKER_POOL"] = "prefork"
    return subprocess.Popen(
        ["bash", "-c", "\n".join([*lines, "wait"])],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addr", default="127.0.0.1:18225")
    parser.add_argument("--caddy-admin", default="http://127.0.0.1:2165")
    parser.add_argument("--http-port", default="8225")
    parser.add_argument("--settle", type=float, default=30.0, help="seconds idle before reading")
    parser.add_argument("--label", default="", help="a name for this run in the table")
    parser.add_argument("--log", default=str(ROOT / "var" / "log" / "at-rest-devstack.log"))
    parser.add_argument("--compose", action="store_true", help="Compose's processes instead")
    parser.add_argument("--shape", choices=sorted(COMPOSE), default="now")
    args = parser.parse_args()

    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        DEPLOYER_CADDY_ADMIN_URL=args.caddy_admin,
        DEPLOYER_HTTP_PORT=args.http_port,
        DEPLOYER_DEV_ADDR=args.addr,
    )
    env.pop("DEPLOYER_ENV", None)
    Path(args.log).parent.mkdir(parents=True, exist_ok=True)
    with open(args.log, "w") as log:
        if args.compose:
            os.environ.update(env)
            process = start_compose_shape(args.shape, args.addr.rsplit(":", 1)[1], log)
        else:
            process = subprocess.Popen(
                [str(ROOT / "scripts" / "dev.sh")],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
    try:
        seconds = wait_for_dashboard(args.addr, process, timeout=600)
        # At rest: the worker's start-up rounds are done and the sum stops moving.
        time.sleep(args.settle)
        previous = None
        for _ in range(30):
            rows = snapshot(process.pid)
            total = sum(row[2] for row in rows)
            if previous is not None and abs(total - previous) < 1024:
                break
            previous = total
            time.sleep(2)
        rows = snapshot(process.pid)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)

    title = f" ({args.label})" if args.label else ""
    how = (
        f"docker-compose.yml's processes ({args.shape}) on PostgreSQL and Redis"
        if args.compose
        else "scripts/dev.sh, embedded defaults"
    )
    print(f"Platform at rest{title}: {how}, dashboard up in {seconds:.0f} s")
    print()
    print("| process | RSS MB | PSS MB |")
    print("|---|---|---|")
    for _pid, command, rss, pss in rows:
        print(f"| {command} | {rss / 1024:.0f} | {pss / 1024:.0f} |")
    total_rss = sum(row[2] for row in rows) / 1024
    total_pss = sum(row[3] for row in rows) / 1024
    print(f"| **{len(rows)} processes** | **{total_rss:.0f}** | **{total_pss:.0f}** |")
    print()
    verdict = "within" if total_rss <= 250 else "OVER"
    print(
        f"Goal: at most 250 MB RSS for web, worker and beat together: {verdict} ({total_rss:.0f} MB)"
    )


if __name__ == "__main__":
    main()
