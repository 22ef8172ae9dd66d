"""The dashboard with a big database: every page at 50 and at 500 projects.

Seeds a PostgreSQL database of its own (`deployer_bench_control_plane`, created here and
dropped at the end) with the real models, 100 builds per project and 100 log lines per
build, so 500 projects make 50,000 builds and 5 million log lines, plus health checks,
health events, metric samples, webhook deliveries, audit entries, domains and variables.
Rows go in with bulk inserts; the log lines with one `INSERT ... SELECT generate_series`
per batch of builds, so PostgreSQL makes them without a Python loop.

Then it loads each page with the Django test client, as staff and as a plain member
(a member of every fifth project), and prints p50/p95 and the number of queries:
the projects list, the overview fragment it polls, the ship report, every section of one
project, a build's page and status fragment, the log-follow fragment (a backlog and
nothing new), the admin changelists and the API's list endpoints. It asserts nothing;
docs/benchmarks.md gets the table.

    .venv/bin/python bench/control_plane.py            # seed 50, measure, seed 500, measure
    BENCH_KEEP=1 .venv/bin/python bench/control_plane.py  # keep the database afterwards
    BENCH_REUSE=1 ...                                  # measure the kept one at 500 again
    BENCH_EXPLAIN=1 ...                                # print the plan of each page's slowest query
"""

from __future__ import annotations

import contextlib
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import harness  # noqa: E402

NAME = "control_plane"
DATABASE = f"deployer_bench_{NAME}"
BUILDS_PER_PROJECT = 100
LINES_PER_BUILD = 100
CHECKS_PER_PROJECT = 300
SAMPLES_PER_PROJECT = 300
DELIVERIES_PER_PROJECT = 40
AUDIT_PER_PROJECT = 50
EVENTS_PER_PROJECT = 20
REQUESTS, WARMUPS = int(os.environ.get("BENCH_REQUESTS", 30)), 3
MEMBER_EVERY = 5
NOW = datetime.now(UTC).replace(microsecond=0)


def psql(sql: str) -> None:
    import psycopg

    url = "postgres://deployer:deployer@127.0.0.1:5432/deployer"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(sql)


@contextlib.contextmanager
def stored_times(*models):
    """Let bulk inserts keep the times given (auto_now_add would stamp them all `now`)."""
    fields = [f for m in models for f in m._meta.concrete_fields if getattr(f, "auto_now_add", 0)]
    for field in fields:
        field.auto_now_add = False
    try:
        yield
    finally:
        for field in fields:
            field.auto_now_add = True


# Seeding ------------------------------------------------------------------------------------


def users():
    from django.contrib.auth import get_user_model

    User = get_user_model()
    staff, _ = User.objects.get_or_create(
        username="bench-staff", defaults={"is_staff": True, "is_superuser": True}
    )
    member, _ = User.objects.get_or_create(username="bench-member")
    owner, _ = User.objects.get_or_create(username="bench-owner")
    return staff, member, owner


def seed(target: int) -> None:
    """Add projects (and all that hangs off them) until there are `target`."""
    from django.db import connection

    from builds.models import Build, BuildLogLine, Deployment
    from monitoring.models import AppHealth, HealthCheck, HealthEvent, HealthState, MetricSample
    from projects.models import AuditEntry, EnvVar, Membership, Project
    from routing.models import Domain
    from webhooks.models import Delivery

    _, member, owner = users()
    start = Project.objects.count()
    if start >= target:
        return
    began = time.monotonic()
    rng = random.Random(target)
    with stored_times(Project, Build, Deployment, AuditEntry, Delivery, Domain, EnvVar):
        projects = Project.objects.bulk_create(
            Project(
                slug=f"app-{n:04d}",
                repo_url=f"https://git.example.com/team/app-{n:04d}.git",
                owner=owner,
                created_at=NOW - timedelta(days=400),
                updated_at=NOW,
            )
            for n in range(start, target)
        )
        Membership.objects.bulk_create(
            Membership(project=p, user=member, role=Membership.Role.DEPLOYER, created_at=NOW)
            for p in projects
            if int(p.slug[4:]) % MEMBER_EVERY == 0
        )
        EnvVar.objects.bulk_create(
            EnvVar(project=p, key=f"VAR_{k}", encrypted_value="x", created_at=NOW, updated_at=NOW)
            for p in projects
            for k in range(5)
        )
        Domain.objects.bulk_create(
            Domain(
                project=p,
                hostname=f"{p.slug}.customers.example.com",
                state=Domain.State.VERIFIED,
                created_at=NOW,
            )
            for p in projects
        )
        builds = []
        for p in projects:
            for n in range(BUILDS_PER_PROJECT):
                created = NOW - timedelta(hours=4 * (BUILDS_PER_PROJECT - n), minutes=rng.random())
                failed = rng.random() < 0.3 and n != BUILDS_PER_PROJECT - 1
                builds.append(
                    Build(
                        project=p,
                        trigger=Build.Trigger.WEBHOOK,
                        ref="main",
                        commit_sha=f"{rng.getrandbits(160):040x}",
                        commit_message=f"Change {n}",
                        state=Build.State.FAILED
                        if failed
                        else (
                            Build.State.LIVE
                            if n == BUILDS_PER_PROJECT - 1
                            else Build.State.SUPERSEDED
                        ),
                        failure_stage="building" if failed else "",
                        failure_reason="pip install failed" if failed else "",
                        created_at=created,
                        started_at=created + timedelta(seconds=1),
                        finished_at=created + timedelta(seconds=40 + 20 * rng.random()),
                        stage_timings={
                            "cloning": {"seconds": 1.2},
                            "building": {"seconds": 25 + 10 * rng.random()},
                        },
                        plan={"kind": "python", "framework": "django", "notes": ["x"] * 20},
                        image_tag=f"deployer/{p.slug}:{n}",
                        image_id="" if failed else f"sha256:{rng.getrandbits(256):064x}",
                        image_size=180_000_000,
                        dependency_layer_cached=rng.random() < 0.8,
                        seconds_to_healthy=1.5,
                        memory_usage_bytes=90_000_000,
                        log_line_count=LINES_PER_BUILD,
                        log_complete=True,
                    )
                )
        builds = Build.objects.bulk_create(builds, batch_size=2000)
        deployments = Deployment.objects.bulk_create(
            (
                Deployment(
                    project_id=b.project_id,
                    build=b,
                    container_id=f"{b.pk:064x}",
                    container_name=f"bench-{b.pk}",
                    host_port=20000 + b.project_id % 40000,
                    state=Deployment.State.LIVE
                    if b.state == Build.State.LIVE
                    else Deployment.State.SUPERSEDED,
                    started_at=b.finished_at,
                    live_at=b.finished_at,
                    stopped_at=None if b.state == Build.State.LIVE else b.finished_at,
                )
                for b in builds
                if b.state != Build.State.FAILED
            ),
            batch_size=2000,
        )
        live = {d.project_id: d for d in deployments if d.state == Deployment.State.LIVE}
        AppHealth.objects.bulk_create(
            AppHealth(
                project=p,
                deployment=live[p.pk],
                state=HealthState.HEALTHY,
                since=NOW - timedelta(days=1),
                checked_at=NOW,
                status_code=200,
                latency_ms=4.0,
            )
            for p in projects
        )
        HealthCheck.objects.bulk_create(
            (
                HealthCheck(
                    project=p,
                    deployment=live[p.pk],
                    checked_at=NOW - timedelta(minutes=5 * n),
                    state=HealthState.HEALTHY,
                    ok=True,
                    status_code=200,
                    latency_ms=3 + rng.random() * 10,
                )
                for p in projects
                for n in range(CHECKS_PER_PROJECT)
            ),
            batch_size=5000,
        )
        MetricSample.objects.bulk_create(
            (
                MetricSample(
                    project=p,
                    deployment=live[p.pk],
                    at=NOW - timedelta(minutes=(1 if n < 60 else 5) * n),
                    resolution="raw" if n < 60 else "5m",
                    seconds=60 if n < 60 else 300,
                    cpu_percent=rng.random() * 20,
                    memory_bytes=90_000_000,
                    memory_limit_bytes=512 * 2**20,
                    requests=100,
                    status_2xx=100,
                    p50_ms=4.0,
                    p95_ms=12.0,
                    latency_histogram={"10": 50, "20": 50},
                )
                for p in projects
                for n in range(SAMPLES_PER_PROJECT)
            ),
            batch_size=5000,
        )
        HealthEvent.objects.bulk_create(
            (
                HealthEvent(
                    project=p,
                    created_at=NOW - timedelta(hours=20 * n),
                    kind=HealthEvent.Kind.STATE,
                    state=HealthState.HEALTHY,
                    previous_state=HealthState.UNHEALTHY,
                    reason="answered 200",
                )
                for p in projects
                for n in range(EVENTS_PER_PROJECT)
            ),
            batch_size=5000,
        )
        by_project = {}
        for b in builds:
            by_project.setdefault(b.project_id, []).append(b)
        Delivery.objects.bulk_create(
            (
                Delivery(
                    project=p,
                    received_at=b.created_at,
                    provider="github",
                    event="push",
                    delivery_id=f"d-{b.pk}",
                    ref="refs/heads/main",
                    commit_sha=b.commit_sha,
                    pusher="someone",
                    verdict=Delivery.Verdict.QUEUED,
                    status_code=202,
                    build=b,
                )
                for p in projects
                for b in by_project[p.pk][-DELIVERIES_PER_PROJECT:]
            ),
            batch_size=5000,
        )
        AuditEntry.objects.bulk_create(
            (
                AuditEntry(
                    project=p,
                    project_slug=p.slug,
                    actor=owner,
                    actor_label=owner.username,
                    action=AuditEntry.Action.DEPLOY,
                    summary="Deploy requested",
                    created_at=NOW - timedelta(hours=8 * n),
                )
                for p in projects
                for n in range(AUDIT_PER_PROJECT)
            ),
            batch_size=5000,
        )
    print(f"  rows for {len(projects)} projects in {time.monotonic() - began:.0f} s; log lines…")
    began = time.monotonic()
    table = BuildLogLine._meta.db_table
    ids = [b.pk for b in builds]
    with connection.cursor() as cursor:
        for i in range(0, len(ids), 5000):
            cursor.execute(
                f"""INSERT INTO {table} (build_id, seq, stage, time, text)
                SELECT b.id, s, 'building', b.started_at + s * interval '100 ms',
                       'Step ' || s || ': Collecting package-' || s || ' (from -r requirements.txt)'
                         || repeat(' ', s %% 7) || 'Downloading package-' || s || '-1.0-py3-none-any.whl'
                FROM builds_build b, generate_series(1, %s) s
                WHERE b.id >= %s AND b.id <= %s""",
                [LINES_PER_BUILD, ids[i], ids[min(i + 4999, len(ids) - 1)]],
            )
        cursor.execute("VACUUM ANALYZE")
    total = BuildLogLine.objects.count() if target <= 50 else "~" + f"{target * 10_000:,}"
    print(f"  {total} log lines in {time.monotonic() - began:.0f} s")


# Measuring ----------------------------------------------------------------------------------


def pages() -> list[tuple[str, str, dict]]:
    """(name, path, request headers) of every page measured."""
    from builds.models import Build
    from projects.models import Project

    project = Project.objects.get(slug="app-0000")
    build = Build.objects.filter(project=project).order_by("-created_at").first()
    htmx = {"HTTP_HX_REQUEST": "true"}
    slug = project.slug
    rows = [
        ("projects list", "/", {}),
        ("overview fragment (polled)", "/builds/overview/", htmx),
        ("ship report", "/builds/ship-report/", {}),
    ]
    for key, path in [
        ("overview", ""),
        ("deployments", "deployments/"),
        ("logs", "logs/"),
        ("environment", "environment/"),
        ("domains", "domains/"),
        ("monitoring", "monitoring/"),
        ("add-ons", "addons/"),
        ("activity", "activity/"),
        ("settings", "settings/"),
        ("settings: notifications", "settings/notifications/"),
        ("settings: webhooks", "settings/webhooks/"),
    ]:
        rows.append((f"project: {key}", f"/projects/{slug}/{path}", {}))
    rows += [
        ("build page", f"/builds/{build.pk}/", {}),
        ("build status fragment", f"/builds/{build.pk}/", htmx),
        ("log follow, 50-line backlog", f"/builds/{build.pk}/log/?after=50", htmx),
        ("log follow, nothing new", f"/builds/{build.pk}/log/?after={LINES_PER_BUILD}", htmx),
    ]
    rows += [
        (f"admin: {model}", f"/admin/{app}/{model}/", {"staff_only": True})
        for app, model in [
            ("projects", "project"),
            ("projects", "auditentry"),
            ("projects", "envvar"),
            ("builds", "build"),
            ("builds", "deployment"),
            ("builds", "buildlogline"),
            ("webhooks", "delivery"),
            ("routing", "domain"),
            ("monitoring", "apphealth"),
            ("monitoring", "healthevent"),
            ("monitoring", "healthcheck"),
            ("monitoring", "notificationdelivery"),
        ]
    ]
    for name, path in [
        ("projects", "/api/v1/projects"),
        ("builds", f"/api/v1/projects/{slug}/builds"),
        ("env", f"/api/v1/projects/{slug}/env"),
        ("domains", f"/api/v1/projects/{slug}/domains"),
        ("health", f"/api/v1/projects/{slug}/health"),
        ("events", f"/api/v1/projects/{slug}/events"),
        ("activity", f"/api/v1/projects/{slug}/activity"),
        ("add-ons", f"/api/v1/projects/{slug}/addons"),
        ("build log", f"/api/v1/builds/{build.pk}/log"),
    ]:
        rows.append((f"API: {name}", path, {"api": True}))
    return rows


def measure(client, path: str, headers: dict, explain: bool) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(WARMUPS):
        response = client.get(path, **headers)
    if response.status_code != 200:
        return {"status": response.status_code}
    times, cpu = [], []
    for _ in range(REQUESTS):
        began, began_cpu = time.perf_counter(), time.process_time()
        client.get(path, **headers)
        times.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, **headers)
    result = {
        "status": 200,
        "p50": statistics.median(times),
        "p95": sorted(times)[int(0.95 * (len(times) - 1))],
        # The Django process's own CPU time: what the page costs, less sensitive than wall
        # time to other work on a shared machine (PostgreSQL's share is in the wall time).
        "cpu": statistics.median(cpu),
        "queries": len(queries),
        "kb": len(response.content) / 1024,
    }
    if explain:
        slowest = max(queries.captured_queries, key=lambda q: float(q["time"]), default=None)
        if slowest and float(slowest["time"]) > 0.01:
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN ANALYZE " + slowest["sql"])
                plan = "\n".join(row[0] for row in cursor.fetchall())
            result["explain"] = f"{slowest['time']} s: {slowest['sql'][:400]}\n{plan}"
    return result


PRESSURE: list[str] = []


def cpu_pressure() -> str:
    try:
        text = Path("/proc/pressure/cpu").read_text()
    except OSError:
        return "unknown"
    return text.split("avg60=")[1].split()[0] + " %"


def measure_all(scale: int) -> dict[tuple[str, str], dict]:
    from django.test import Client

    from api import tokens

    staff, member, _ = users()
    _, staff_token = tokens.create_token(staff, f"bench-{scale}")
    _, member_token = tokens.create_token(member, f"bench-{scale}")
    explain = bool(os.environ.get("BENCH_EXPLAIN"))
    results = {}
    for who, user, token in [("staff", staff, staff_token), ("member", member, member_token)]:
        client = Client()
        client.force_login(user)
        for name, path, headers in pages():
            headers = dict(headers)
            if headers.pop("staff_only", False) and who != "staff":
                continue
            if headers.pop("api", False):
                headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
            result = measure(client, path, headers, explain)
            results[name, who] = result
            line = (
                f"{result['p50'] * 1000:6.0f} {result['p95'] * 1000:6.0f} ms "
                f"{result['queries']:4d} q {result['kb']:6.0f} KB cpu {result['cpu'] * 1000:4.0f} ms"
                if result["status"] == 200
                else f"HTTP {result['status']}"
            )
            print(f"  {scale:4d} {who:6s} {name:32s} {line}", flush=True)
            if "explain" in result:
                print("    " + result["explain"].replace("\n", "\n    "))
    return results


def report(by_scale: dict[int, dict]) -> None:
    small, large = by_scale.get(50, {}), by_scale[500]
    rows = [
        "| page | who | 50 projects p50 / p95 | 500 projects p50 / p95 | Django CPU p50 (50 / 500) | queries (50 / 500) | HTML at 500 |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for key, result in large.items():
        name, who = key
        before = small.get(key, {})

        def cpu(r):
            return f"{r['cpu'] * 1000:.0f} ms" if r.get("status") == 200 else "-"

        def cell(r):
            if r.get("status") != 200:
                return f"HTTP {r.get('status', '-')}"
            return f"{r['p50'] * 1000:.0f} / {r['p95'] * 1000:.0f} ms"

        rows.append(
            f"| {name} | {who} | {cell(before)} | {cell(result)} | {cpu(before)} / {cpu(result)} | "
            f"{before.get('queries', '-')} / {result.get('queries', '-')} | "
            f"{result.get('kb', 0):.0f} KB |"
        )
    worst = max((r["p95"] for r in large.values() if r.get("status") == 200), default=0)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = "\n".join(
        [
            f"Run {stamp}. `bench/control_plane.py`: PostgreSQL 15 seeded with the real models, "
            f"{BUILDS_PER_PROJECT} builds a project and {LINES_PER_BUILD} log lines a build "
            "(500 projects: 50,000 builds, 5,000,000 log lines, 150,000 health checks, 150,000 "
            "metric samples, 20,000 webhook deliveries, 25,000 audit entries); the Django test "
            f"client in-process, {REQUESTS} requests after {WARMUPS} warm-ups per page; staff see "
            f"every project, the member is in every {MEMBER_EVERY}th.",
            f"Machine: {harness.machine()}. CPU pressure from all work on the host (PSI some "
            f"avg60) while measuring: {', '.join(PRESSURE)}. Slowest p95 at 500 projects: "
            f"{worst * 1000:.0f} ms.",
            "",
            *rows,
        ]
    )
    harness.write_section("Control plane: the dashboard with a big database", body)


def main() -> None:
    reuse = bool(os.environ.get("BENCH_REUSE"))
    if not reuse:
        psql(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    # As deployed: no DEBUG (which keeps every query), the test client's host allowed.
    os.environ.update(
        DEBUG="false", ALLOWED_HOSTS="testserver,127.0.0.1", DEPLOYER_ENV="development"
    )
    harness.setup_django(NAME, redis_db=int(os.environ.get("BENCH_REDIS_DB", 14)))
    from django.db import connections

    by_scale: dict[int, dict] = {}
    try:
        for scale in [500] if reuse else [50, 500]:
            print(f"seeding {scale} projects", flush=True)
            seed(scale)
            PRESSURE.append(f"{cpu_pressure()} before {scale}")
            by_scale[scale] = measure_all(scale)
            PRESSURE.append(f"{cpu_pressure()} after")
        if not os.environ.get("BENCH_NO_REPORT"):
            report(by_scale)
            print(f"Wrote {harness.RESULTS}")
    finally:
        connections.close_all()
        if not os.environ.get("BENCH_KEEP"):
            psql(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


if __name__ == "__main__":
    main()
