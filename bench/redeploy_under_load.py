"""Does a redeploy drop requests? Ten redeploys in a row while requests flow through Caddy.

Run: `.venv/bin/python bench/redeploy_under_load.py [--redeploys 10] [--threads 4] [--replicas 2]` with
PostgreSQL, Redis and Docker up (`scripts/services.sh`) and Debian's caddy installed.

It sets Django up on a database of its own (`deployer_bench_routing`, Redis DB 7), starts its
own Celery worker subprocess (as tests/integration/conftest.py does) and its own Caddy through
scripts/caddy.sh on ports of its own (admin 127.0.0.1:2039, apps on 127.0.0.1:8039; set
DEPLOYER_CADDY_ADMIN_URL / DEPLOYER_HTTP_PORT to choose others), so a dashboard, a dev Caddy or
a test session on this machine is never disturbed. It deploys a small Flask app, then sends
GET / to its stable address (Host: <slug>.<base domain>, to 127.0.0.1:<http port>) from a few
threads, each request with a timeout, while the app is redeployed with a new commit N times.
Bounded: the load stops when the redeploys end, or at --max-seconds, or at --max-requests.

It prints and appends to docs/benchmarks.md: requests sent, failed requests (with their kinds),
p50/p99 latency, and the machine (nproc, memory). Everything it made is removed at the end.
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import harness

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "benchmarks.md"
DATABASE = "deployer_bench_routing"
REDIS_DB = 7

# A page that takes APP_DELAY seconds, as real pages do: requests then queue in the
# container's accept queue, which is what a switch must not drop.
APP = {
    "requirements.txt": "flask>=3,<4\ngunicorn>=22\n",
    "app.py": (
        "import os\nimport time\n\n"
        "from flask import Flask\n\n"
        "app = Flask(__name__)\n\n\n"
        "@app.get('/')\n"
        "def index():\n"
        "    time.sleep(float(os.environ.get('APP_DELAY', '0')))\n"
        "    return 'version 0'\n\n\n"
        "@app.get('/healthz')\n"
        "def healthz():\n"
        "    return 'ok'\n"
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redeploys", type=int, default=10)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=10.0, help="per request, seconds")
    parser.add_argument(
        "--app-delay", type=float, default=0.05, help="seconds the app takes per request"
    )
    parser.add_argument("--max-seconds", type=float, default=1200.0, help="hard cap on the load")
    parser.add_argument("--max-requests", type=int, default=500_000, help="hard cap on the load")
    parser.add_argument(
        "--keep-alive", action="store_true", help="each thread reuses one connection"
    )
    parser.add_argument(
        "--replicas", type=int, default=1, help="web replicas of the app (Project.web_replicas)"
    )
    parser.add_argument("--no-write", action="store_true", help="do not touch docs/benchmarks.md")
    parser.add_argument(
        "--timeline", action="store_true", help="print failures among the switches' log lines"
    )
    args = parser.parse_args()

    setup_django()
    caddy_pid = start_caddy()
    work = Path(tempfile.mkdtemp(prefix="deployer-bench-routing-"))
    worker = start_worker(work / "worker.log")
    project = None
    try:
        project, repo = make_project(work, app_delay=args.app_delay, replicas=args.replicas)
        first = deploy(project)
        if first.state != "live":
            raise SystemExit(f"the first deploy failed: {first.failure_reason}")
        kills = watch_kills(project.slug)
        load = Load(host=project.app_host, keep_alive=args.keep_alive, timeout=args.timeout)
        load.start(args.threads, max_seconds=args.max_seconds, max_requests=args.max_requests)
        builds = []
        for n in range(1, args.redeploys + 1):
            harness.commit(
                repo, {"app.py": APP["app.py"].replace("version 0", f"version {n}")}, f"v{n}"
            )
            build = deploy(project)
            builds.append(build)
            print(f"redeploy {n}: build #{build.pk} {build.state} in {build.duration or 0:.1f} s")
            if build.state != "live":
                print(f"  {build.failure_stage}: {build.failure_reason}")
                print(
                    "  "
                    + "\n  ".join(
                        build.log_lines.order_by("-seq").values_list("text", flat=True)[:15][::-1]
                    )
                )
            if load.stopped.is_set():
                print("the load hit its cap before the redeploys ended")
                break
        time.sleep(1)  # requests that the last switch's old container was serving finish
        load.stop()
        report = load.report(builds, args, external_kills(kills))
        if args.timeline:
            print_timeline(load, builds, kills)
        print(report)
        if not args.no_write:
            append_results(report)
    finally:
        cleanup(project, worker, caddy_pid)


# --- The load ------------------------------------------------------------------------------


@dataclass
class Load:
    host: str
    keep_alive: bool
    timeout: float
    latencies: list[float] = field(default_factory=list)
    failures: Counter = field(default_factory=Counter)
    failure_times: list[tuple[float, str]] = field(default_factory=list)
    bodies: Counter = field(default_factory=Counter)
    stopped: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    threads: list[threading.Thread] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0

    def start(self, count: int, *, max_seconds: float, max_requests: int) -> None:
        from django.conf import settings

        self.port = settings.DEPLOYER_HTTP_PORT
        self.max_requests = max_requests
        self.deadline = time.monotonic() + max_seconds
        self.started = time.monotonic()
        self.threads = [threading.Thread(target=self._loop, daemon=True) for _ in range(count)]
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.stopped.set()
        for thread in self.threads:
            thread.join(self.timeout + 5)
        self.ended = time.monotonic()

    @property
    def sent(self) -> int:
        return len(self.latencies) + sum(self.failures.values())

    def _loop(self) -> None:
        connection = None
        while not self.stopped.is_set():
            if time.monotonic() > self.deadline or self.sent >= self.max_requests:
                self.stopped.set()
                break
            if connection is None:
                connection = http.client.HTTPConnection(
                    "127.0.0.1", self.port, timeout=self.timeout
                )
            began = time.perf_counter()
            try:
                connection.request("GET", "/", headers={"Host": self.host})
                response = connection.getresponse()
                body = response.read().decode(errors="replace")
                outcome = None if response.status == 200 else f"HTTP {response.status}"
            except (OSError, http.client.HTTPException) as exc:
                outcome, body = type(exc).__name__, ""
                connection.close()
                connection = None
            elapsed = time.perf_counter() - began
            if connection is not None and not self.keep_alive:
                connection.close()
                connection = None
            with self.lock:
                if outcome is None:
                    self.latencies.append(elapsed)
                    self.bodies[body] += 1
                else:
                    self.failures[outcome] += 1
                    self.failure_times.append(
                        (time.time() - elapsed, f"{outcome} after {elapsed:.3f} s")
                    )
        if connection is not None:
            connection.close()

    def report(self, builds, args, outside: list[str]) -> str:
        from django.conf import settings

        latencies = sorted(self.latencies)
        seconds = self.ended - self.started
        live = sum(1 for build in builds if build.state == "live")
        failed = sum(self.failures.values())
        kinds = ", ".join(f"{kind} x{n}" for kind, n in self.failures.most_common()) or "none"
        return "\n".join(
            [
                f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}; "
                f"{args.threads} threads, {'keep-alive' if self.keep_alive else 'a new connection per request'}, "
                f"{args.timeout:g} s timeout per request, the app takes {args.app_delay * 1000:g} ms "
                f"per request, drain {settings.DEPLOYER_ROUTE_DRAIN_SECONDS:g} s, "
                f"stop grace {settings.DEPLOYER_STOP_GRACE} s, "
                f"{args.replicas} web replica{'s' if args.replicas != 1 else ''}.",
                "",
                "| Redeploys (live) | Requests sent | Failed | p50 latency | p99 latency | Duration | Requests/s | Versions answered |",
                "|---|---|---|---|---|---|---|---|",
                f"| {len(builds)} ({live}) | {self.sent} | {failed} | {percentile(latencies, 50)} "
                f"| {percentile(latencies, 99)} | {seconds:.0f} s | {self.sent / seconds:.0f} "
                f"| {len(self.bodies)} |",
                "",
                f"Failures by kind: {kinds}.",
                *(
                    [f"Containers killed by something else during the run: {', '.join(outside)}."]
                    if outside
                    else []
                ),
            ]
        )


def print_timeline(load: Load, builds, kills: list[dict]) -> None:
    """Failed requests (by the time they were sent) among the moments each build switched."""
    keep = ("Started container", "==> Live", "Route", "Stopping", "warning")
    events = list(load.failure_times) + [
        (
            event["timeNano"] / 1e9,
            f"engine: {event['Action']} {event['Actor']['Attributes'].get('name')} "
            f"signal={event['Actor']['Attributes'].get('signal', '-')} "
            f"exit={event['Actor']['Attributes'].get('exitCode', '-')}",
        )
        for event in kills
    ]
    for build in builds:
        for line in build.log_lines.order_by("seq"):
            if line.text.startswith(keep):
                events.append((line.time.timestamp(), f"build #{build.pk}: {line.text}"))
    for moment, text in sorted(events):
        print(f"{datetime.fromtimestamp(moment, UTC):%H:%M:%S.%f} {text}")


def watch_kills(slug: str) -> list[dict]:
    """Collect the engine's kill events for the project's containers, in the background.

    Deployer stops a previous container with SIGTERM; a SIGKILL of a container that was not
    being stopped means something else removed it (e.g. another Deployer's worker reconciling
    the same engine), which explains failures that are not the switch's.
    """
    import docker

    events: list[dict] = []
    client = docker.from_env()
    stream = client.events(
        decode=True,
        filters={
            "type": "container",
            "event": ["kill", "die"],
            "label": f"org.deployer.project={slug}",
        },
    )

    def collect() -> None:
        for event in stream:
            events.append(event)

    threading.Thread(target=collect, daemon=True).start()
    return events


def external_kills(kills: list[dict]) -> list[str]:
    """Containers SIGKILLed without a SIGTERM first: Deployer stops with SIGTERM, then SIGKILL."""
    terminated, killed = set(), []
    for event in kills:
        attributes = event["Actor"]["Attributes"]
        if event["Action"] != "kill":
            continue
        if attributes.get("signal") == "15":
            terminated.add(attributes.get("name"))
        elif attributes.get("name") not in terminated:
            killed.append(attributes.get("name", "?"))
    return sorted(set(killed))


def percentile(values: list[float], p: float) -> str:
    if not values:
        return "n/a"
    index = min(len(values) - 1, max(0, round(p / 100 * len(values)) - 1))
    return f"{values[index] * 1000:.1f} ms"


# --- The stack -----------------------------------------------------------------------------


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="deployer.settings",
        DATABASE_URL=f"postgres://deployer:deployer@127.0.0.1:5432/{DATABASE}",
        REDIS_URL=f"redis://127.0.0.1:6379/{REDIS_DB}",
        DEPLOYER_ALLOW_LOCAL_REPOS="true",
    )
    os.environ.setdefault("DEPLOYER_CADDY_ADMIN_URL", "http://127.0.0.1:2039")
    os.environ.setdefault("DEPLOYER_HTTP_PORT", "8039")
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
            f"CREATE DATABASE {DATABASE}",
        ],
        env={**os.environ, "PGPASSWORD": "deployer"},
        capture_output=True,
        check=False,
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def start_caddy() -> int | None:
    """Caddy through scripts/caddy.sh; its pid when this run started it (to stop it at the end)."""
    admin_port = os.environ["DEPLOYER_CADDY_ADMIN_URL"].rstrip("/").rsplit(":", 1)[1]
    pid_file = ROOT / "var" / "caddy" / admin_port / "caddy.pid"
    before = pid_file.read_text().strip() if pid_file.exists() else None
    subprocess.run([str(ROOT / "scripts" / "caddy.sh")], check=True)
    after = pid_file.read_text().strip() if pid_file.exists() else None
    return int(after) if after and after != before else None


def start_worker(log_path: Path) -> subprocess.Popen:
    from deployer.celery import app

    others = [host for reply in app.control.ping(timeout=1) for host in reply]
    if others:
        # Another worker on this Redis DB would take some of the builds, with its own settings.
        raise SystemExit(f"other Celery workers answer on Redis DB {REDIS_DB}: {', '.join(others)}")

    return harness.start_worker(log_path)


def make_project(work: Path, *, app_delay: float, replicas: int = 1):
    from django.contrib.auth import get_user_model

    from projects import services

    repo = work / "repo"
    repo.mkdir()
    harness.git(repo, "init", "--quiet", "--initial-branch=main")
    harness.commit(repo, APP, "initial")
    owner, _ = get_user_model().objects.get_or_create(username="bench")
    project = services.create_project(
        owner,
        slug=f"bench-route-{int(time.time()) % 100000}",
        repo_url=f"file://{repo}",
        health_check_path="/healthz",
        web_replicas=replicas,
    )
    services.add_env_var(project, "APP_DELAY", str(app_delay))
    return project, repo


def deploy(project, timeout: float = 600):
    from builds import services
    from builds.models import Build

    build = services.request_build(project)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        build = Build.objects.get(pk=build.pk)
        if build.is_finished:
            return build
        time.sleep(0.5)
    raise SystemExit(f"build #{build.pk} did not finish within {timeout:.0f} s")


def cleanup(project, worker: subprocess.Popen, caddy_pid: int | None) -> None:
    from django.conf import settings

    from builds import deletion

    if project is not None:
        time.sleep(
            settings.DEPLOYER_ROUTE_DRAIN_SECONDS + 1
        )  # the last switch's old container stops
        try:
            for problem in deletion.delete_project(project):
                print(f"cleanup: {problem}")
        except Exception as exc:  # noqa: BLE001 - the worker and Caddy must still be stopped
            print(f"cleanup: the project could not be deleted: {exc!r}")
    harness.stop_process_group(worker)
    if caddy_pid:
        os.kill(caddy_pid, signal.SIGTERM)


def machine() -> str:
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    caddy = subprocess.run(["caddy", "version"], capture_output=True, text=True).stdout.split()
    return (
        f"nproc {nproc}, {memory_kb / 1024 / 1024:.1f} GiB RAM, Caddy {caddy[0] if caddy else '?'}"
    )


def append_results(report: str) -> None:
    heading = "## Redeploy under load (through Caddy)"
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmarks\n"
    if heading not in text:
        text = text.rstrip("\n") + (
            f"\n\n{heading}\n\n`bench/redeploy_under_load.py`: a Flask app redeployed in a row "
            "while threads send GET / to its stable address through Caddy. Goal: no failed request.\n"
        )
    # Each run is added at the end of this section, which may not be the file's last.
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    end = len(text) if end == -1 else end
    section = text[start:end].rstrip("\n") + "\n\n" + report + "\n"
    RESULTS.write_text(
        text[:start] + section + ("\n" + text[end:].lstrip("\n") if end < len(text) else "")
    )


if __name__ == "__main__":
    main()
