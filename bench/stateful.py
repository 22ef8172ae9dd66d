"""Redis add-on backups, add-on health checks and volume measures: what they cost.

    .venv/bin/python bench/stateful.py [--keys 10000 200000] [--runs 3]

On the database deployer_bench_stateful and Redis DB 2, with the real engine: one project
with a Redis add-on (the local redis:7.0), filled with `--keys` keys of 100 bytes by
redis-cli inside the container; for each size, `--runs` backups (snapshot, copy out, load
into a throw-away Redis, count) and restores (re-check, safety backup, swap, reload), timed;
then one health round and one volume measure. No app is deployed (a restore has no live
container to stop). Everything is removed by the project's label afterwards. Writes the
section "Redis backups, add-on health, volume sizes" of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness

SLUG = "bench-stateful"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, nargs="+", default=[10_000, 200_000])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    harness.setup_django("stateful", redis_db=2)

    from django.conf import settings
    from django.contrib.auth import get_user_model

    from addons import backups, health, services
    from builds import docker as docker_seam
    from builds.docker import run_in
    from projects import services as project_services
    from projects.models import Project
    from volumes import services as volume_services

    settings.DEPLOYER_BACKUP_DIR = tempfile.mkdtemp(prefix="bench-backups-")
    user, _ = get_user_model().objects.get_or_create(username="bench")
    Project.objects.filter(slug=SLUG).delete()
    project = project_services.create_project(
        user, slug=SLUG, repo_url="https://example.com/bench.git"
    )
    rows = []
    with docker_seam.client() as client:
        try:
            addon = services.create_addon(project, "redis")
            started = time.perf_counter()
            addon = services.provision(addon, client)
            create_s = time.perf_counter() - started
            assert addon.state == "ready", addon.error
            for keys in args.keys:
                fill = (
                    f"redis-cli flushall >/dev/null; for i in $(seq 1 {keys}); do "
                    f'echo "SET key:$i {"x" * 100}"; done | redis-cli --pipe >/dev/null'
                )
                run_in(client, addon.container_name, ["sh", "-c", fill])
                took, restored, sizes = [], [], []
                for _ in range(args.runs):
                    started = time.perf_counter()
                    backup = backups.take(addon, client, reason="bench")
                    took.append(time.perf_counter() - started)
                    assert backup.state == "verified", backup.error
                    sizes.append(backup.size)
                    started = time.perf_counter()
                    backups.restore(addon, backup, client)
                    restored.append(time.perf_counter() - started)
                rows.append(
                    f"| {keys:,} keys ({sizes[0] / 1e6:.1f} MB RDB) | {harness.summary(took)} "
                    f"| {harness.summary(restored)} |"
                )
            started = time.perf_counter()
            health.check_all(client)
            health_s = time.perf_counter() - started
            volume_services.add_volume(project, "media", "/app/media")
            started = time.perf_counter()
            volume_services.measure(client)
            df_s = time.perf_counter() - started
        finally:
            from tests.integration.conftest import remove_labelled

            with contextlib.suppress(Exception):
                remove_labelled(client, f"org.deployer.project={SLUG}")
            Project.objects.filter(slug=SLUG).delete()

    body = f"""Measured by `bench/stateful.py` on {harness.machine()}; seconds, median (min to max).

`manage.py addon create PROJECT redis` (stand-in `redis:7.0`, until it answers PING):
{create_s:.2f} s.

| data | backup: snapshot, copy out, load into a throw-away Redis, count | restore: re-check, safety backup, swap, reload |
|---|---|---|
{chr(10).join(rows)}

A restore is a check of the file (loaded once more before the live data is touched), a
safety backup (itself verified), then the swap: the add-on stopped (Redis saves on the way
down), the file put in place by a one-off container, Redis started and its keys counted. The
app is stopped only for the swap. The snapshot starts at once because the server runs with
`--repl-diskless-sync-delay 0` (Redis's default 5 s wait for more replicas made every backup
5 s longer: 5.98 s for 10,000 keys before, 1.37 s after).

One health round over the ready add-ons (one `exec` each, here one add-on): {health_s * 1000:.0f} ms.
One volume measure (`docker system df -v` through the SDK, the engine's whole accounting):
{df_s * 1000:.0f} ms on this engine; it grows with the number of images and containers, which is why it
runs every `DEPLOYER_VOLUME_CHECK_INTERVAL` (5 min), not on each page view.
"""
    harness.write_section("Redis backups, add-on health, volume sizes", body)
    print(body)


if __name__ == "__main__":
    main()
