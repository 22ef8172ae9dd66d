"""Many deploys at once (issue 22, part 5): 20 projects deployed together through the worker
as the quick start runs it, checked as a report.

    .venv/bin/python bench/concurrent_deploys.py [--projects 20] [--twice 5] [--solo 3] [--write]

Embedded defaults, as scripts/dev.sh: an SQLite file of the bench's own (var/bench-concurrent/),
the file-system broker, and the worker started with scripts/devstack.py's own command (threads
pool sized from this machine, beat's schedule in a thread). Every project is a real git
repository of a small Flask app with its own greeting; everything the bench makes carries the
installation label `bench-concurrent`, and is removed by it at the end.

1. `--solo` projects are deployed one after the other (the first also fills the engine's layer
   cache for the shared requirements): the median is the single-build time.
2. `--projects` projects are deployed at once; `--twice` of them get a second commit and a
   second deploy right away, which must wait for the first (per-project serialization).
3. Asserts-as-report: every build live, none failed, each app answering its newest greeting
   through Caddy, no two builds of one project overlapping, never more builds running than the
   worker's concurrency; the wall time against the ideal, sum of single builds / concurrency.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness

ROOT = harness.ROOT
INSTALLATION = "bench-concurrent"
WORK = ROOT / "var" / "bench-concurrent"


def flask_app(greeting: str) -> dict[str, str]:
    """The integration tests' Flask app, answering `greeting` at /."""
    from tests.integration.apps import FLASK_APP

    code = (
        "from flask import Flask\n\n"
        "app = Flask(__name__)\n\n\n"
        "@app.get('/')\n"
        "def index():\n"
        f"    return {greeting!r}\n\n\n"
        "@app.get('/healthz')\n"
        "def healthz():\n"
        "    return 'ok'\n"
    )
    return {"requirements.txt": FLASK_APP["requirements.txt"], "app.py": code}


def configure(args) -> dict[str, str]:
    """The quick start's environment: embedded defaults on the bench's own SQLite file."""
    WORK.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.pop("DEPLOYER_ENV", None)
    env.update(
        DJANGO_SETTINGS_MODULE="deployer.settings",
        DATABASE_URL=f"sqlite:///{WORK / 'db.sqlite3'}",
        DEPLOYER_INSTALLATION_ID=INSTALLATION,
        DEPLOYER_ALLOW_LOCAL_REPOS="true",
        DEPLOYER_CADDY_ADMIN_URL=args.caddy_admin,
        DEPLOYER_HTTP_PORT=str(args.http_port),
    )
    os.environ.clear()
    os.environ.update(env)
    return env


def start_worker(env: dict[str, str]) -> subprocess.Popen:
    sys.path.insert(0, str(ROOT / "scripts"))
    from devstack import commands  # the quick start's own worker command

    command = commands("127.0.0.1:0", None)["worker"]
    log = (WORK / "worker.log").open("w")
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_for_worker(process: subprocess.Popen) -> None:
    from deployer.celery import app

    deadline = time.monotonic() + 90
    while not app.control.ping(timeout=1.0):
        if process.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"the worker did not start; see {WORK / 'worker.log'}")


def wait_finished(builds, timeout: float) -> None:
    from builds.models import Build

    deadline = time.monotonic() + timeout
    ids = [build.pk for build in builds]
    while time.monotonic() < deadline:
        open_ = Build.objects.filter(pk__in=ids).exclude(state__in=Build.FINISHED_STATES)
        if not open_.exists():
            return
        time.sleep(0.5)
    raise SystemExit(
        f"builds still running after {timeout:.0f} s: {list(open_.values_list('pk', 'state'))}"
    )


def answers(http_port: int, host: str) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", http_port, timeout=5)
    try:
        connection.request("GET", "/", headers={"Host": host})
        response = connection.getresponse()
        return f"{response.status} {response.read().decode(errors='replace')}"
    except OSError as exc:
        return f"error {exc}"
    finally:
        connection.close()


def seconds(build) -> float:
    return (build.finished_at - build.started_at).total_seconds()


def most_at_once(builds) -> int:
    events = sorted(
        [(b.started_at, 1) for b in builds] + [(b.finished_at, -1) for b in builds],
        key=lambda event: (event[0], event[1]),
    )
    running = peak = 0
    for _moment, step in events:
        running += step
        peak = max(peak, running)
    return peak


def remove_labelled() -> None:
    """Remove every container, image, network and volume with the bench's installation label."""
    from builds import docker as docker_seam

    label = f"{docker_seam.LABEL_INSTALLATION}={INSTALLATION}"
    with docker_seam.client() as client:
        for container in docker_seam.containers(client, label):
            with contextlib.suppress(Exception):
                container.remove(v=True, force=True)
        for image in client.images.list(filters={"label": label}):
            with contextlib.suppress(Exception):
                client.images.remove(image.id, force=True)
        for kind in (client.networks, client.volumes):
            for item in kind.list(filters={"label": label}):
                with contextlib.suppress(Exception):
                    item.remove()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=20)
    parser.add_argument("--twice", type=int, default=5, help="projects deployed twice at once")
    parser.add_argument("--solo", type=int, default=3, help="single builds for the ideal")
    parser.add_argument("--caddy-admin", default="http://127.0.0.1:2165")
    parser.add_argument("--http-port", type=int, default=8225)
    parser.add_argument("--write", action="store_true", help="record in docs/benchmarks.md")
    args = parser.parse_args()

    if (WORK / "db.sqlite3").exists():
        for leftover in WORK.glob("db.sqlite3*"):
            leftover.unlink()
    env = configure(args)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from builds import services as build_services
    from builds.models import Build, Deployment
    from projects import services as project_services

    remove_labelled()  # what an interrupted run left
    # Ctrl-C or SIGTERM still stops the worker and cleans up (the finally below).
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    owner = get_user_model().objects.create_user("bench", password="bench-password-1")
    concurrency = settings.CELERY_WORKER_CONCURRENCY
    worker = start_worker(env)
    repos: list[Path] = []
    rows: list[str] = []
    try:
        wait_for_worker(worker)
        stamp = int(time.time()) % 100000

        def project(name: str, greeting: str):
            repo = harness.make_repo(flask_app(greeting))
            repos.append(repo)
            return project_services.create_project(
                owner, slug=f"{name}-{stamp}", repo_url=f"file://{repo}"
            ), repo

        # 1. Single builds, one at a time.
        solo = []
        for n in range(args.solo):
            proj, _repo = project(f"solo{n}", f"solo {n}")
            build = build_services.request_build(proj)
            wait_finished([build], timeout=600)
            build.refresh_from_db()
            if build.state != Build.State.LIVE:
                raise SystemExit(f"solo build #{build.pk} {build.state}: {build.failure_reason}")
            solo.append(seconds(build))
            print(f"solo #{build.pk}: {seconds(build):.1f} s", flush=True)
        single = statistics.median(solo[1:] or solo)  # the first also filled the layer cache

        # 2. All at once; some projects twice.
        burst = [project(f"many{n}", f"many {n} v1") for n in range(args.projects)]
        started = time.time()
        builds = [build_services.request_build(proj) for proj, _repo in burst]
        expected = {proj.pk: f"200 many {n} v1" for n, (proj, _repo) in enumerate(burst)}
        # A newer request replaces a queued one (superseded): the second deploy is sent once
        # the first has started, and must then wait for it to end.
        for n, (proj, repo) in enumerate(burst[: args.twice]):
            first = builds[n]
            while not Build.objects.filter(pk=first.pk, started_at__isnull=False).exists():
                time.sleep(0.2)
            harness.commit(repo, {"app.py": flask_app(f"many {n} v2")["app.py"]}, "v2")
            builds.append(build_services.request_build(proj))
            expected[proj.pk] = f"200 many {n} v2"
        print(f"{len(builds)} deploys requested in {time.time() - started:.1f} s", flush=True)
        wait_finished(builds, timeout=3600)
        for build in builds:
            build.refresh_from_db()
        wall = max(b.finished_at.timestamp() for b in builds) - started

        # 3. The report.
        # A first deploy replaced by its project's second is "superseded" once that one is
        # live: it went live all the same (its deployment has a live_at).
        went_live = set(
            Deployment.objects.filter(build__in=builds, live_at__isnull=False).values_list(
                "build_id", flat=True
            )
        )
        failed = [b for b in builds if b.pk not in went_live or b.failure_reason]
        time.sleep(1)  # the last switch's route is in Caddy before its build is recorded live
        wrong = []
        for proj, _repo in burst:
            got = answers(args.http_port, proj.app_host)
            if got != expected[proj.pk]:
                wrong.append(f"{proj.slug}: {got[:80]!r}, expected {expected[proj.pk]!r}")
        overlaps = []
        for proj, _repo in burst[: args.twice]:
            pair = sorted((b for b in builds if b.project_id == proj.pk), key=lambda b: b.pk)
            first, second = pair
            if second.started_at < first.finished_at:
                overlaps.append(f"{proj.slug}: #{second.pk} started before #{first.pk} ended")
        peak = most_at_once([b for b in builds if b.started_at and b.finished_at])
        ideal = len(builds) * single / concurrency
        cores = os.cpu_count() or 1
        bounded = len(builds) * single / min(concurrency, cores)
        times = [seconds(b) for b in builds if b.started_at and b.finished_at]
        waits = [(b.started_at - b.created_at).total_seconds() for b in builds if b.started_at]

        def verdict(ok: bool) -> str:
            return "yes" if ok else "**NO**"

        rows = [
            "| check | result |",
            "|---|---|",
            f"| deploys (projects, of them deployed twice) | {len(builds)} ({args.projects}, {args.twice}) |",
            f"| worker | {settings.SIZING.worker_pool} pool, concurrency {concurrency} (machine: {os.cpu_count()} cores), beat in a thread |",
            f"| all went live, none failed | {verdict(not failed)} ({len(builds) - len(failed)} live, {len(failed)} not) |",
            f"| every app answers its newest commit through Caddy | {verdict(not wrong)} ({len(burst) - len(wrong)} of {len(burst)}) |",
            f"| two deploys of one project never overlap | {verdict(not overlaps)} ({args.twice} pairs) |",
            f"| most builds running at once | {peak} (concurrency {concurrency}) {verdict(peak <= concurrency)} |",
            f"| single build (median of {len(solo[1:] or solo)} solo, warm layer cache) | {single:.1f} s |",
            f"| one build during the burst: median, max | {statistics.median(times):.1f} s, {max(times):.1f} s |",
            f"| waiting for a slot: median, max | {statistics.median(waits):.1f} s, {max(waits):.1f} s |",
            f"| **wall time, first request to last live** | **{wall:.1f} s** |",
            f"| ideal: {len(builds)} x {single:.1f} s / {concurrency} | {ideal:.1f} s |",
            f"| wall / ideal | {wall / ideal:.2f} |",
            # Builds use the CPU (pip, the engine): more at once than cores share the cores.
            f"| ideal bounded by the cores: {len(builds)} x {single:.1f} s / {min(concurrency, cores)} "
            f"| {bounded:.1f} s (wall / that: {wall / bounded:.2f}) |",
        ]
        print("\n".join(rows))
        for problem in [
            *(f"{b.project.slug} #{b.pk} {b.state}: {b.failure_reason}" for b in failed),
            *wrong,
            *overlaps,
        ]:
            print("PROBLEM:", problem)
        if args.write:
            body = (
                f"Run {datetime.now():%Y-%m-%d %H:%M}, {harness.machine()}; "
                "`bench/concurrent_deploys.py`, embedded defaults (SQLite, file-system broker), "
                "the quick start's worker command.\n\n" + "\n".join(rows)
            )
            harness.write_section("Many deploys at once (issue 22, part 5)", body)
    finally:
        harness.stop_process_group(worker)
        with contextlib.suppress(Exception):
            from builds import deletion
            from projects.models import Project

            for proj in Project.objects.all():
                deletion.delete_project(proj)
        remove_labelled()
        for repo in repos:
            shutil.rmtree(repo, ignore_errors=True)
    if not rows or any("**NO**" in row for row in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
