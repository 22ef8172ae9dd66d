"""What every benchmark needs: Django on its own database, a real Celery worker, git repos, a results file.

Benchmarks run against the real stack on this machine (PostgreSQL, Redis, Docker), on a
database and a Redis DB of their own so they never disturb a running dashboard or tests.
"""

from __future__ import annotations

import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "benchmarks.md"


def setup_django(name: str, redis_db: int) -> str:
    """Point Django at database `deployer_bench_<name>` (created and migrated) and Redis DB `redis_db`."""
    sys.path.insert(0, str(ROOT))
    database_url = f"postgres://deployer:deployer@127.0.0.1:5432/deployer_bench_{name}"
    os.environ.update(
        DJANGO_SETTINGS_MODULE="deployer.settings",
        DATABASE_URL=database_url,
        REDIS_URL=f"redis://127.0.0.1:6379/{redis_db}",
        DEPLOYER_ALLOW_LOCAL_REPOS="true",
    )
    subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-U",
            "deployer",
            "-d",
            "deployer",
            "-c",
            f"CREATE DATABASE deployer_bench_{name}",
        ],
        env={**os.environ, "PGPASSWORD": "deployer"},
        capture_output=True,
        check=False,
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return database_url


def start_worker(log_path: Path, concurrency: int = 2) -> subprocess.Popen:
    """A `celery worker` process on the benchmark's database, in its own process group."""
    from deployer.celery import app

    name = f"bench-{os.getpid()}"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "deployer",
                "worker",
                "--purge",
                f"--concurrency={concurrency}",
                "--loglevel=INFO",
                f"--hostname={name}@%h",
            ],
            cwd=ROOT,
            env=os.environ,
            stdout=log,  # production settings: connections kept 60 s
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while not any(name in host for reply in app.control.ping(timeout=0.5) for host in reply):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the Celery worker did not start; see {log_path}")
    return process


def stop_process_group(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "Bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
    }
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def make_repo(files: dict[str, str]) -> Path:
    """A git repository in a temporary folder with one commit of `files`."""
    path = Path(tempfile.mkdtemp(prefix="deployer-bench-repo-"))
    git(path, "init", "--quiet", "--initial-branch=main")
    commit(path, files, "initial")
    return path


def commit(path: Path, files: dict[str, str], message: str) -> str:
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    git(path, "add", "--all")
    git(path, "commit", "--quiet", "-m", message)
    return git(path, "rev-parse", "HEAD")


def summary(values: list[float]) -> str:
    """Median and spread of several runs, e.g. `12.3 s (11.9 to 13.0, n=3)`."""
    if not values:
        return "n/a"
    return (
        f"{statistics.median(values):.2f} ({min(values):.2f} to {max(values):.2f}, n={len(values)})"
    )


def machine() -> str:
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.machine(),
    )
    docker = subprocess.run(
        ["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True
    ).stdout.strip()
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory_kb / 1024 / 1024:.0f} GiB RAM, "
        f"{platform.platform()}, Docker {docker}, Python {platform.python_version()}"
    )


def write_section(title: str, body: str) -> None:
    """Replace (or append) the section `## title` of docs/benchmarks.md with `body`."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    text = (
        RESULTS.read_text()
        if RESULTS.exists()
        else "# Benchmarks\n\nFigures measured on this project's own machine by the scripts in `bench/`.\n"
    )
    heading = f"## {title}"
    section = f"{heading}\n\n{body.strip()}\n"
    if heading in text:
        start = text.index(heading)
        following = text.find("\n## ", start + len(heading))
        text = text[:start] + section + (f"\n{text[following + 1 :]}" if following != -1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text)
