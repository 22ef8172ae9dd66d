"""App metrics for 50 running apps: what a sampling round costs the worker, the engine and the
database, and engine one-shot stats against reading the cgroup files directly.

    .venv/bin/python bench/metrics.py [--apps 50] [--rounds 5]

Starts `--apps` tiny containers (python -m http.server from the local python:3.11-slim, 64 MB
limit, labelled org.deployer.bench=metrics and removed by that label afterwards) with a live
deployment row each, on the database deployer_bench_metrics. Loopback only; a few minutes.
Writes the section "App metrics: 50 running apps" of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness

LABEL = "org.deployer.bench=metrics"
IMAGE = "deployer-bench/metrics-app:1"
BASE = "python:3.11-slim"
INTERVAL = 20.0


def build_image(client) -> None:
    dockerfile = f'FROM {BASE}\nCMD ["python", "-m", "http.server", "8000"]\n'
    with contextlib.suppress(Exception):
        client.images.get(IMAGE)
        return
    import io

    client.images.build(
        fileobj=io.BytesIO(dockerfile.encode()),
        tag=IMAGE,
        labels={"org.deployer.bench": "metrics"},
        rm=True,
    )


def remove_all(client) -> None:
    for container in client.containers.list(all=True, filters={"label": LABEL}):
        with contextlib.suppress(Exception):
            container.remove(v=True, force=True)


def dockerd_cpu_seconds() -> float | None:
    """dockerd's user+system CPU time, from /proc (this machine's engine)."""
    pid = subprocess.run(["pgrep", "-x", "dockerd"], capture_output=True, text=True).stdout.split()
    if not pid:
        return None
    fields = Path(f"/proc/{pid[0]}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def read_cgroup_v1(container) -> tuple[int, int, int]:
    """CPU ns, memory bytes, received bytes straight from the host's cgroup v1 files and the
    container's /proc/<pid>/net/dev: the alternative to the engine's stats, for comparison."""
    cid = container.id
    cpu = int(Path(f"/sys/fs/cgroup/cpuacct/docker/{cid}/cpuacct.usage").read_text())
    memory = int(Path(f"/sys/fs/cgroup/memory/docker/{cid}/memory.usage_in_bytes").read_text())
    pid = container.attrs["State"]["Pid"]
    rx = 0
    for line in Path(f"/proc/{pid}/net/dev").read_text().splitlines()[2:]:
        name, data = line.split(":", 1)
        if name.strip() != "lo":
            rx += int(data.split()[0])
    return cpu, memory, rx


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--apps", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("DEPLOYER_INSTALLATION_ID", "bench-metrics")
    os.environ["DEPLOYER_ACCESS_LOG"] = str(harness.ROOT / "var" / "bench-metrics-access.log")
    harness.setup_django("metrics", redis_db=9)

    import docker
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from builds.models import Build, Deployment
    from monitoring import accesslog, metrics, observe
    from monitoring.models import MetricSample, MetricsCursor
    from projects.models import Project
    from routing import services as routing_services

    client = docker.from_env(timeout=120)
    remove_all(client)
    Project.objects.filter(slug__startswith="bench-m").delete()
    MetricSample.objects.all().delete()
    MetricsCursor.objects.all().delete()
    user, _ = get_user_model().objects.get_or_create(username="bench-metrics")
    build_image(client)
    containers = []
    try:
        for n in range(args.apps):
            containers.append(
                client.containers.run(
                    IMAGE,
                    detach=True,
                    name=f"bench-metrics-{n}",
                    labels={"org.deployer.bench": "metrics", "org.deployer.managed": "1"},
                    mem_limit="64m",
                )
            )
            project = Project.objects.create(
                owner=user, slug=f"bench-m{n}", repo_url="https://example.com/a.git"
            )
            build = Build.objects.create(project=project, state=Build.State.LIVE)
            Deployment.objects.create(
                project=project,
                build=build,
                container_id=containers[-1].id,
                host_port=20000 + n,
                state=Deployment.State.LIVE,
                live_at=timezone.now(),
            )
        for container in containers:
            container.reload()
        time.sleep(2)
        ids = [c.id for c in containers]

        engine_rounds, cgroup_rounds, engine_cpu, dockerd_cpu = [], [], [], []
        for _ in range(args.rounds):
            cpu0, d0, t0 = time.process_time(), dockerd_cpu_seconds(), time.perf_counter()
            readings = observe.read_all_stats(ids, timeout=5, workers=16)
            engine_rounds.append(time.perf_counter() - t0)
            engine_cpu.append(time.process_time() - cpu0)
            if d0 is not None:
                dockerd_cpu.append(dockerd_cpu_seconds() - d0)
            assert all(r is not None for r in readings), "a container gave no stats"
            t0 = time.perf_counter()
            for container in containers:
                read_cgroup_v1(container)
            cgroup_rounds.append(time.perf_counter() - t0)

        # Whole rounds as the worker runs them: engine ping, stats, access log, rows, alerts.
        log = Path(os.environ["DEPLOYER_ACCESS_LOG"])
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("")
        routing_services.projects_by_host()
        hosts = [f"bench-m{n}.localhost" for n in range(args.apps)]
        lines_per_round = 10_000
        whole, whole_cpu, whole_dockerd = [], [], []
        metrics.sample_all()
        for _ in range(args.rounds):
            with log.open("a") as file:
                for _ in range(lines_per_round):
                    file.write(
                        json.dumps(
                            {
                                "logger": "http.log.access.deployer",
                                "request": {"host": random.choice(hosts), "uri": "/"},
                                "status": random.choice((200, 200, 200, 404, 500)),
                                "duration": random.random() / 10,
                            }
                        )
                        + "\n"
                    )
            cpu0, d0, t0 = time.process_time(), dockerd_cpu_seconds(), time.perf_counter()
            summary = metrics.sample_all()
            whole.append(time.perf_counter() - t0)
            whole_cpu.append(time.process_time() - cpu0)
            if d0 is not None:
                whole_dockerd.append(dockerd_cpu_seconds() - d0)
            assert summary.sampled == args.apps and summary.gaps == 0, summary
            assert summary.requests == lines_per_round, summary.requests

        t0 = time.perf_counter()
        lines, _ = accesslog.read_new(
            log, accesslog.Position(log.stat().st_ino, 0), max_bytes=1 << 30
        )
        parsed, _ = accesslog.parse(lines)
        accesslog.traffic(parsed, routing_services.projects_by_host())
        log_seconds = (time.perf_counter() - t0) / len(parsed) * 1e6

        rows = MetricSample.objects.count()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_total_relation_size('monitoring_metricsample')")
            table_bytes = cursor.fetchone()[0]
        per_row = table_bytes / rows
        raw_rows_day = args.apps * 86400 / INTERVAL
        folded_rows_30d = args.apps * 288 * 30
        from monitoring import selectors

        t0 = time.perf_counter()
        for _ in range(5):
            selectors.metric_trends(
                Project.objects.filter(slug__startswith="bench-m").values_list("pk", flat=True)
            )
        trend_ms = (time.perf_counter() - t0) / 5 * 1000
    finally:
        remove_all(client)
        Project.objects.filter(slug__startswith="bench-m").delete()

    mib = 1024 * 1024
    body = f"""
Measured by `bench/metrics.py` ({time.strftime("%Y-%m-%d")}): {harness.machine()}.
{args.apps} running containers (python -m http.server, 64 MB limit), {args.rounds} rounds each.

| What one round costs, {args.apps} apps | wall time, s | worker CPU, s | dockerd CPU, s |
|---|---|---|---|
| engine one-shot stats (`stats?stream=false&one-shot=true`), 16 threads | {harness.summary(engine_rounds)} | {harness.summary(engine_cpu)} | {harness.summary(dockerd_cpu) if dockerd_cpu else "n/a"} |
| cgroup v1 files + /proc/<pid>/net/dev, one thread (for comparison) | {harness.summary(cgroup_rounds)} | - | 0 |
| whole round (`metrics.sample_all`: ping, stats, {lines_per_round:,} access log lines, {args.apps} rows, alert rules) | {harness.summary(whole)} | {harness.summary(whole_cpu)} | {harness.summary(whole_dockerd) if whole_dockerd else "n/a"} |

- Access log: {log_seconds:.1f} µs per line read, parsed and attributed to its app.
- At the default interval of {INTERVAL:.0f} s a round's worker CPU is {statistics.median(whole_cpu) / INTERVAL:.1%} of one core (router lines included);
  the engine's share is {statistics.median(whole_dockerd) / INTERVAL if whole_dockerd else float("nan"):.1%}.
- Database: {per_row:.0f} bytes per sample row with its indexes (PostgreSQL `pg_total_relation_size`, {rows} rows).
  Raw: {raw_rows_day:,.0f} rows a day for {args.apps} apps, about {raw_rows_day * per_row / mib:.0f} MiB kept for the
  DEPLOYER_METRICS_RAW_HOURS (24 h); then 5-minute samples: {folded_rows_30d:,} rows for 30 days, about
  {folded_rows_30d * per_row / mib:.0f} MiB.
- The projects list's CPU trends for {args.apps} apps (one query over the last hour's raw samples): {trend_ms:.1f} ms.

Why the engine's stats and not the cgroup files: reading the files is cheaper still (no HTTP, no JSON), but it works only
for containers on this host, needs the cgroup layout (v1 here, v2 elsewhere) and the container's PID, and would be a
second way to the engine beside `builds/docker.py`. The one-shot stats cost a few milliseconds of the engine's time per
container and go through the one Docker seam, so they keep working when apps run on a remote engine. Restart counts are
taken from the health checks' last inspection (`AppHealth.restart_count`) rather than one more engine call per app.
"""
    harness.write_section(f"App metrics: {args.apps} running apps", body)
    print(body)


if __name__ == "__main__":
    main()
