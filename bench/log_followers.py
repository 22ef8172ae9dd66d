"""Fifty browsers following a build log must not starve other page loads.

Starts gunicorn as production would (gunicorn.conf.py: workers and threads sized from the
machine by deployer/sizing.py, or DEPLOYER_WEB_WORKERS / DEPLOYER_WEB_THREADS; loopback only) on its own
PostgreSQL database, creates a user, ten projects and a running build, and for a bounded
time:

* a writer thread appends lines to the build with the real BuildLog (steady output plus
  one burst longer than a poll's batch), noting when each line was written;
* 50 followers, each a requests.Session with its own connection, poll the log-lines
  endpoint exactly as the browser's sentinel does: `?after=<cursor>`, wait the delay the
  sentinel asks for (`load delay:<DEPLOYER_LOG_POLL_MS>ms`), none after a full batch, 2 s
  after an error;
* a page thread loads the projects list one request after another and times it, first
  alone (baseline), then while the followers run.

It asserts nothing: it prints the figures, checks that every follower got every line
exactly once and in order, and appends a table to docs/benchmarks.md.

    DATABASE_URL=postgres://deployer:deployer@127.0.0.1:5432/deployer .venv/bin/python bench/log_followers.py
    BENCH_POLL_MS=500 ...   # the server's DEPLOYER_LOG_POLL_MS for this run (default: the setting's)

The database named by BENCH_DATABASE_URL (default: "deployer_bench_log_followers" next to
DATABASE_URL's) is created and migrated, and dropped at the end.
"""

from __future__ import annotations

import http.client
import multiprocessing
import os
import re
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import harness
import requests

ROOT = Path(__file__).resolve().parents[1]
FOLLOWERS = int(os.environ.get("BENCH_FOLLOWERS", 50))
FOLLOW_SECONDS = float(os.environ.get("BENCH_SECONDS", 20))
BASELINE_SECONDS = 5.0
FOLLOWER_PROCESSES = 5
LINE_INTERVAL = 0.04  # 25 lines a second, like a busy `pip install`
BURST_AT, BURST_LINES = 8.0, 800  # one burst longer than a poll's batch of 500
POLL_MS = os.environ.get("BENCH_POLL_MS", "")  # empty: the server's default
RETRY_DELAY = 2.0  # the sentinel's `retry delay:2s`
PASSWORD = "bench-password-not-secret"
# gunicorn.conf.py (read from ROOT) sizes the workers and threads, as in production.
GUNICORN = [str(ROOT / ".venv/bin/gunicorn"), "deployer.wsgi"]


def bench_database_url() -> str:
    if os.environ.get("BENCH_DATABASE_URL"):
        return os.environ["BENCH_DATABASE_URL"]
    base = os.environ.get("DATABASE_URL", "postgres://deployer:deployer@127.0.0.1:5432/deployer")
    if not base.startswith("postgres"):
        sys.exit("The bench runs on PostgreSQL: set DATABASE_URL=postgres://...")
    return urlunsplit(urlsplit(base)._replace(path="/deployer_bench_log_followers"))


DATABASE_URL = bench_database_url()
os.environ["DATABASE_URL"] = DATABASE_URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "deployer.settings")
if POLL_MS:
    os.environ["DEPLOYER_LOG_POLL_MS"] = POLL_MS
sys.path.insert(0, str(ROOT))

from deployer import sizing  # noqa: E402 - the repository's root is on the path just above

WEB = sizing.from_environment()  # what gunicorn.conf.py gives the server


def ensure_database() -> None:
    import psycopg

    parts = urlsplit(DATABASE_URL)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


def drop_database() -> None:
    import psycopg

    parts = urlsplit(DATABASE_URL)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')


def setup_django() -> None:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def ms(value: float) -> str:
    return f"{value * 1000:.0f} ms"


# Fixture rows -------------------------------------------------------------------------------


@dataclass
class Fixture:
    username: str
    build_id: int
    project_ids: list[int]


def create_fixture() -> Fixture:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from builds.models import Build
    from projects import services

    tag = f"{os.getpid()}-{int(time.time())}"
    username = f"bench-{tag}"
    user = get_user_model().objects.create_user(username=username, password=PASSWORD)
    projects = [
        services.create_project(
            user, slug=f"bench-{tag}-{n}", repo_url="https://example.com/bench/app.git"
        )
        for n in range(10)
    ]
    build = Build.objects.create(
        project=projects[0], state=Build.State.BUILDING, started_at=timezone.now()
    )
    return Fixture(username, build.pk, [p.pk for p in projects])


def delete_fixture(fixture: Fixture) -> None:
    from django.contrib.auth import get_user_model

    from projects.models import Project

    Project.objects.filter(pk__in=fixture.project_ids).delete()
    get_user_model().objects.filter(username=fixture.username).delete()


# Gunicorn -----------------------------------------------------------------------------------


def start_gunicorn(port: int, log_path: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DEPLOYER_ENV": "development",
        **({"DEPLOYER_LOG_POLL_MS": POLL_MS} if POLL_MS else {}),
    }
    log = log_path.open("w")
    process = subprocess.Popen(
        [*GUNICORN, "-b", f"127.0.0.1:{port}", "--error-logfile", "-"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"gunicorn exited:\n{log_path.read_text()[-2000:]}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/accounts/login/", timeout=10).ok:
                return process
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.2)
    stop_gunicorn(process)
    sys.exit(f"gunicorn did not answer within 30 s:\n{log_path.read_text()[-2000:]}")


def stop_gunicorn(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def login(base: str, username: str) -> dict[str, str]:
    """Log in through the real form once; the followers share the session cookie."""
    session = requests.Session()
    page = session.get(f"{base}/accounts/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = session.post(
        f"{base}/accounts/login/",
        data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base}/accounts/login/"},
        allow_redirects=False,
        timeout=10,
    )
    if response.status_code != 302:
        sys.exit(f"login failed: HTTP {response.status_code}")
    return session.cookies.get_dict()


# The load -----------------------------------------------------------------------------------
#
# Followers and the page timer run in processes of their own, so the benchmark's client
# threads never wait on the same interpreter lock as the writer or each other's timings.
# Each line carries the wall-clock time it was written, so delivery is timed across processes.

WRITTEN_AT = re.compile(r"@(\d+\.\d+)$")


class Client:
    """One keep-alive HTTP connection with the session cookie, as a browser tab has."""

    def __init__(self, port: int, cookies: dict[str, str]):
        self.port = port
        self.headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
        self.connection: http.client.HTTPConnection | None = None

    def get(self, path: str, headers: dict[str, str] | None = None) -> str:
        if self.connection is None:
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            self.connection.request("GET", path, headers={**self.headers, **(headers or {})})
            response = self.connection.getresponse()
            body = response.read().decode()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            self.connection = None
            raise
        if response.status != 200:
            raise OSError(f"HTTP {response.status}")
        return body


def follow(port: int, cookies: dict[str, str], build_id: int, deadline: float) -> dict:
    """Poll like the sentinel until the log ends; what was received, and how fast."""
    client = Client(port, cookies)
    seqs: list[int] = []
    latencies: list[float] = []
    delivery: list[float] = []
    burst: list[float] = []  # the same, for the burst's lines alone
    steady: list[float] = []  # and for the others
    errors, cursor, delay, finished = 0, 0, 0.0, False
    while time.time() < deadline:
        time.sleep(delay)
        began = time.monotonic()
        try:
            body = client.get(f"/builds/{build_id}/log/?after={cursor}", {"HX-Request": "true"})
        except OSError:
            errors += 1
            delay = RETRY_DELAY
            continue
        latencies.append(time.monotonic() - began)
        now = time.time()
        for seq, text in re.findall(r'data-seq="(\d+)">.*?<span class="text">([^<]*)</span>', body):
            seqs.append(int(seq))
            written = WRITTEN_AT.search(text)
            if written:
                delivery.append(now - float(written.group(1)))
                (burst if text.startswith("burst") else steady).append(delivery[-1])
        sentinel = re.search(r'\?after=(\d+)" hx-trigger="([^"]+)"', body)
        if sentinel is None:
            finished = True
            break
        cursor = int(sentinel.group(1))
        asked = re.match(r"load delay:(\d+)ms", sentinel.group(2))
        delay = int(asked.group(1)) / 1000 if asked else 0.0
    return {
        "seqs": seqs,
        "latencies": latencies,
        "delivery": delivery,
        "burst": burst,
        "steady": steady,
        "errors": errors,
        "finished": finished,
    }


def follower_process(port, cookies, build_id, count, deadline, results) -> None:
    with ThreadPoolExecutor(count) as pool:
        futures = [pool.submit(follow, port, cookies, build_id, deadline) for _ in range(count)]
        results.put([future.result() for future in futures])


def page_process(port, cookies, seconds, results) -> None:
    """Load the projects list one request after another for `seconds`; the latencies."""
    client = Client(port, cookies)
    latencies, errors = [], 0
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        began = time.monotonic()
        try:
            client.get("/")
            latencies.append(time.monotonic() - began)
        except OSError:
            errors += 1
        time.sleep(0.05)
    results.put({"latencies": latencies, "errors": errors})


def write_lines(build_id: int, seconds: float) -> int:
    """Append lines with the real BuildLog for `seconds`, then finish the build; how many."""
    from django.db import connection
    from django.utils import timezone

    from builds.buildlog import BuildLog
    from builds.models import Build

    log = BuildLog(Build.objects.get(pk=build_id), max_lines=100_000)
    log.stage = Build.State.BUILDING
    start, total, burst_done = time.monotonic(), 0, False
    try:
        while time.monotonic() - start < seconds:
            if not burst_done and time.monotonic() - start >= BURST_AT:
                for n in range(BURST_LINES):
                    total += 1
                    log(f"burst line {n} <escaped & kept> @{time.time():.3f}")
                burst_done = True
            total += 1
            log(f"step {total}: Collecting package-{total} @{time.time():.3f}")
            time.sleep(LINE_INTERVAL)
        # Finished long enough ago that followers stop right after the last line.
        Build.objects.filter(pk=build_id).update(
            state=Build.State.LIVE, finished_at=timezone.now() - timedelta(minutes=5)
        )
    finally:
        connection.close()
    return total


# Report -------------------------------------------------------------------------------------


def cpu_seconds(match) -> float:
    """User + system CPU seconds used so far by the processes `match(pid, stat_fields)` picks."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
            command = (entry / "comm").read_text().strip()
        except OSError:
            continue
        fields = raw.rsplit(")", 1)[1].split()
        if match(int(entry.name), command, fields):
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def server_cpu(gunicorn_pgid: int) -> tuple[float, float]:
    """CPU seconds so far of gunicorn (its process group) and of every PostgreSQL process."""
    web = cpu_seconds(lambda pid, command, fields: int(fields[2]) == gunicorn_pgid)
    database = cpu_seconds(lambda pid, command, fields: command.startswith("postgres"))
    return web, database


def gunicorn_rss_mb(gunicorn_pgid: int) -> float:
    """Resident memory of gunicorn's master and workers together, in MB."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != gunicorn_pgid:
                continue
            status = (entry / "status").read_text()
        except OSError:
            continue
        total += int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))
    return total / 1024


def cpu_pressure() -> str:
    """How much CPU other work on the host took (Linux PSI, "some" over 60 s), if known."""
    try:
        text = Path("/proc/pressure/cpu").read_text()
    except OSError:
        return "unknown"
    return re.search(r"avg60=([\d.]+)", text).group(1) + " %"


def write_report(rows: list[tuple[str, str]]) -> Path:
    """Replace the section of docs/benchmarks.md with this run's figures."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = "\n".join(
        [
            f"Run {stamp}. `bench/log_followers.py`: gunicorn `-w {WEB.web_workers} --threads "
            f"{WEB.web_threads}` (deployer/sizing.py) on 127.0.0.1; "
            f"{FOLLOWERS} followers (each its own keep-alive connection) poll "
            "`/builds/<id>/log/?after=<cursor>` at the browser's cadence while a writer appends "
            f"lines for {FOLLOW_SECONDS:.0f} s; another process loads the projects list back to "
            "back, alone and then under that load.",
            f"Machine: {harness.machine()}; PostgreSQL and the benchmark's own clients on the same host.",
            "",
            "| Measure | Value |",
            "| --- | --- |",
            *(f"| {name} | {value} |" for name, value in rows),
        ]
    )
    from django.conf import settings

    harness.write_section(
        f"Log followers: {FOLLOWERS} browsers following a build log, "
        f"polling {settings.DEPLOYER_LOG_POLL_MS} ms after each answer",
        body,
    )
    return harness.RESULTS


def summary(values: list[float]) -> str:
    return f"{ms(percentile(values, 50))} / {ms(percentile(values, 95))}"


def main() -> None:
    ensure_database()
    setup_django()
    fixture = create_fixture()
    port = free_port()
    gunicorn = start_gunicorn(port, Path("/tmp") / f"bench-gunicorn-{os.getpid()}.log")
    pressure_before = cpu_pressure()
    context = multiprocessing.get_context("fork")
    try:
        cookies = login(f"http://127.0.0.1:{port}", fixture.username)
        from django.db import connections

        connections.close_all()  # nothing of Django's crosses the fork
        results = context.Queue()
        print(
            f"gunicorn -w {WEB.web_workers} --threads {WEB.web_threads} on 127.0.0.1:{port}; projects list alone for {BASELINE_SECONDS:.0f} s"
        )
        page_process(port, cookies, BASELINE_SECONDS, results)
        baseline = results.get()

        print(f"{FOLLOWERS} followers for {FOLLOW_SECONDS:.0f} s while lines are written")
        deadline = time.time() + FOLLOW_SECONDS + 30  # room to drain after the writer stops
        per_process = -(-FOLLOWERS // FOLLOWER_PROCESSES)
        counts = [min(per_process, FOLLOWERS - i) for i in range(0, FOLLOWERS, per_process)]
        processes = [
            context.Process(
                target=follower_process,
                args=(port, cookies, fixture.build_id, n, deadline, results),
            )
            for n in counts
        ]
        pages = context.Process(target=page_process, args=(port, cookies, FOLLOW_SECONDS, results))
        started = time.monotonic()
        cpu_before = server_cpu(gunicorn.pid)
        for process in processes:
            process.start()
        time.sleep(1)  # the followers are polling before the first line and the page timing
        pages.start()
        total = write_lines(fixture.build_id, FOLLOW_SECONDS)
        collected = [results.get() for _ in range(len(processes) + 1)]
        elapsed = time.monotonic() - started
        cpu_after = server_cpu(gunicorn.pid)
        web_memory = gunicorn_rss_mb(gunicorn.pid)
        for process in [*processes, pages]:
            process.join()
    finally:
        stop_gunicorn(gunicorn)
        delete_fixture(fixture)
        from django.db import connections

        connections.close_all()
        drop_database()

    loaded = next(item for item in collected if isinstance(item, dict))
    followers = [f for item in collected if isinstance(item, list) for f in item]
    expected = list(range(1, total + 1))
    exact = sum(1 for f in followers if f["seqs"] == expected)
    polls = [x for f in followers for x in f["latencies"]]
    delivery = [x for f in followers for x in f["delivery"]]
    burst = [x for f in followers for x in f["burst"]]
    steady = [x for f in followers for x in f["steady"]]
    errors = sum(f["errors"] for f in followers)
    web_cpu, db_cpu = (after - before for after, before in zip(cpu_after, cpu_before, strict=True))
    requests_served = len(polls) + len(loaded["latencies"])
    rows = [
        (
            "Projects page p50 / p95, alone",
            f"{summary(baseline['latencies'])} ({len(baseline['latencies'])} loads)",
        ),
        (
            f"Projects page p50 / p95, with {FOLLOWERS} followers",
            f"{summary(loaded['latencies'])} ({len(loaded['latencies'])} loads, {loaded['errors']} errors)",
        ),
        (
            "Projects page p95 with followers / alone",
            f"{percentile(loaded['latencies'], 95) / percentile(baseline['latencies'], 95):.2f}",
        ),
        (
            "Log polls answered",
            f"{len(polls)} in {elapsed:.0f} s ({len(polls) / elapsed:.0f}/s), {errors} errors",
        ),
        ("Log poll p50 / p95", summary(polls)),
        (
            "Server CPU per request: gunicorn / PostgreSQL (all its processes)",
            f"{web_cpu / requests_served * 1000:.1f} ms / {db_cpu / requests_served * 1000:.1f} ms ({web_cpu:.1f} s / {db_cpu:.1f} s for {requests_served} requests and the writer)",
        ),
        (
            f"gunicorn memory after the load (RSS, master and {WEB.web_workers} workers)",
            f"{web_memory:.0f} MB",
        ),
        (
            "Line written → shown to a follower, p50 / p95 / max",
            f"{summary(delivery)} / {ms(max(delivery, default=float('nan')))}",
        ),
        ("… steady lines alone, p50 / p95", summary(steady)),
        (f"… the burst's {BURST_LINES} lines alone, p50 / p95", summary(burst)),
        ("Lines written", f"{total} (25/s, and one burst of {BURST_LINES} at {BURST_AT:.0f} s)"),
        ("Followers that got every line exactly once, in order", f"{exact} of {len(followers)}"),
        (
            "CPU pressure from all work on the host (PSI some avg60), before / after",
            f"{pressure_before} / {cpu_pressure()}",
        ),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    for follower in [f for f in followers if f["seqs"] != expected][:3]:
        print(
            f"  incomplete follower: {len(follower['seqs'])} lines, "
            f"{len(set(follower['seqs']))} distinct, finished={follower['finished']}"
        )
    if os.environ.get("BENCH_NO_REPORT"):
        return
    print(f"Wrote {write_report(rows)}")


if __name__ == "__main__":
    main()
