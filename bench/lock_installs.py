"""Lock-file installs: the tool's own export in the build against Deployer's export.

Run: `.venv/bin/python bench/lock_installs.py [--runs 3]` with PostgreSQL, Redis and Docker
up (`scripts/services.sh`). Builds a small app locked three ways (uv.lock, a Poetry 2 lock,
a Pipfile.lock: gunicorn 23.0.0 and packaging, the same pins) the way the runner does: the
shared setup images, the package cache, the generated Dockerfile and, for a lock Deployer
exports itself, that export in the context. Each is built as it is and, for Poetry and
Pipenv, once more with the lock changed only so that Deployer leaves the export to the tool
(lock-version 2.0; an entry with a key Deployer does not read), so both ways install the
same packages. Every build has a label of its own before its install step, so the engine
caches none of the steps that follow (one more step, alike for every way). Results
replace the "Lock-file installs" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import harness

LABEL = "org.deployer.bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    harness.setup_django(f"locks{os.environ.get('BENCH_SUFFIX', '')}", redis_db=11)
    import docker

    from tests.integration.test_generated_dockerfiles import LOCKED_TREES, WSGI_APP

    client = docker.from_env(timeout=600)
    ways = {
        "uv (uv export)": LOCKED_TREES["uv"],
        "Poetry 2: Deployer's export": LOCKED_TREES["poetry"],
        "Poetry 2: poetry export": {
            **LOCKED_TREES["poetry"],
            "poetry.lock": LOCKED_TREES["poetry"]["poetry.lock"].replace(
                'lock-version = "2.1"', 'lock-version = "2.0"'
            ),
        },
        "Pipenv: Deployer's export": LOCKED_TREES["pipenv"],
        "Pipenv: pipenv requirements": {
            **LOCKED_TREES["pipenv"],
            "Pipfile.lock": _pipenv_left_to_pipenv(LOCKED_TREES["pipenv"]["Pipfile.lock"]),
        },
    }
    seconds: dict[str, list[float]] = {way: [] for way in ways}
    try:
        for run in range(args.runs):
            for way, files in ways.items():
                app = {**files, "app.py": WSGI_APP, "Procfile": "web: gunicorn app:application\n"}
                seconds[way].append(build_seconds(client, _fresh(app, run, way), way))
                print(f"  {way}: {seconds[way][-1]:.2f} s", flush=True)
    finally:
        for image in client.images.list(filters={"label": LABEL}):
            client.images.remove(image.id, force=True)
    rows = "\n".join(f"| {way} | {harness.summary(values)} |" for way, values in seconds.items())
    body = f"""Machine: {harness.machine()}. Measured {time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}.

The build of a small app (gunicorn 23.0.0 and packaging, the same pins in each lock) through
the package cache, as the runner builds it, with a label of its own before the install step
each time, so no step after it comes from the engine's cache.
The "tool" rows are the same locks changed only so that Deployer leaves the export to Poetry
or Pipenv, installed into a throwaway folder of the install step as before this change.
Seconds, median (min to max, n runs).

| lock | build |
|---|---|
{rows}
"""
    print(body)
    harness.write_section("Lock-file installs: Deployer's export against the tool's", body)


def _pipenv_left_to_pipenv(text: str) -> str:
    """The same lock with a key Deployer does not read (an entry's `"editable": false`)."""
    data = json.loads(text)
    first = next(iter(data["default"]))
    data["default"][first]["editable"] = False
    return json.dumps(data, indent=4)


def _fresh(files: dict[str, str], run: int, way: str) -> dict[str, str]:
    """`files` with its lock made unique (a comment or a key no tool reads), so the engine
    caches no step of its install."""
    tag = f"{time.time_ns()}-{run}"
    changed = dict(files)
    for name in ("uv.lock", "poetry.lock"):
        if name in changed:
            changed[name] += f"\n# bench {tag}\n"
    if "Pipfile.lock" in changed:
        data = json.loads(changed["Pipfile.lock"])
        data["_meta"]["bench"] = tag
        changed["Pipfile.lock"] = json.dumps(data, indent=4)
    return changed


def build_seconds(client, files: dict[str, str], way: str) -> float:
    """Detection, the generated Dockerfile (and export) and the build, as the runner does."""
    from builds import package_cache
    from builds.pipeline import image
    from builds.pipeline.detect import detect_plan
    from builds.pipeline.detection.packages import generated_files
    from builds.pipeline.detection.tree import Tree
    from builds.pipeline.dockerfile import generate_dockerfile, generate_dockerignore
    from builds.runner import ensure_setup_image

    with tempfile.TemporaryDirectory(prefix="deployer-bench-lock-") as folder:
        root = Path(folder)
        for name, text in files.items():
            (root / name).write_text(text)
        started = time.monotonic()
        plan = detect_plan(root, available_pythons=("3.11",))
        ensure_setup_image(client, plan, lambda line: None)
        use = package_cache.for_build(client, plan, {}, lambda line: None)
        # A label of its own before the install step: the engine caches none of its steps.
        text = generate_dockerfile(
            plan, package_cache=bool(use.network), labels={LABEL: str(time.time_ns())}
        )
        generated = generated_files(plan, Tree(root))
        context = io.BytesIO()
        with tarfile.open(fileobj=context, mode="w") as tar:
            for name, content in {
                **files,
                **generated,
                "Dockerfile": text,
                ".dockerignore": generate_dockerignore(),
            }.items():
                data = content.encode()
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        context.seek(0)
        image.build_image(
            client.api,
            context,
            dockerfile="Dockerfile",
            tag=f"deployer-bench/locks:{time.time_ns()}",
            labels={LABEL: "1"},
            buildargs=use.buildargs or {},
            log=lambda line: None,
            network=use.network,
        )
        elapsed = time.monotonic() - started
    exported = "Deployer's" in way
    if exported != bool(generated):
        raise SystemExit(f"{way}: expected {'an' if exported else 'no'} export by Deployer")
    return elapsed


if __name__ == "__main__":
    sys.exit(main())
