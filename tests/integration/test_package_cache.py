"""The shared package cache (issue 22, part 2) on the real engine: builds download public PyPI
files through it, a second project reuses them, a dead cache falls back to PyPI, and a build
step on its network reaches neither the host's services nor other projects' containers."""

from __future__ import annotations

import contextlib
import io
import json
import tarfile
import tempfile
import time
import uuid

import docker
import pytest

from builds import package_cache
from builds.pipeline import image
from builds.pipeline.detect import detect_plan
from builds.pipeline.detection.locks import EXPORT_FILE
from builds.pipeline.detection.packages import generated_files
from builds.pipeline.detection.tree import Tree
from builds.pipeline.dockerfile import generate_dockerfile, generate_dockerignore
from builds.runner import ensure_setup_image
from tests.integration.conftest import default_bridge_gateway
from tests.integration.test_hostile_fence import PROBE
from tests.unit.builds import trees
from tests.unit.builds.conftest import write_tree

pytestmark = pytest.mark.django_db(transaction=True)
# Not the shared test label: parallel test sessions remove everything carrying that one.
TEST_LABEL = "org.deployer.package-cache-test"
LABELS = {"org.deployer.managed": "1", TEST_LABEL: "1"}


@pytest.fixture(scope="module")
def engine():
    client = docker.from_env(timeout=300)
    yield client
    package_cache.remove(client)
    for kind in ("containers", "images", "volumes"):
        for item in getattr(client, kind).list(filters={"label": TEST_LABEL}):
            with contextlib.suppress(docker.errors.APIError):
                item.remove(force=True)
    label = f"org.deployer.role={package_cache.ROLE}"
    for volume in client.volumes.list(filters={"label": label}):
        if volume.name == package_cache.name():
            with contextlib.suppress(docker.errors.APIError):
                volume.remove(force=True)
    for found in client.images.list(filters={"label": label}):
        with contextlib.suppress(docker.errors.APIError):
            client.images.remove(found.id, force=True)
    client.close()


def tar_of(files: dict[str, str]) -> io.BytesIO:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        for name, text in files.items():
            body = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    data.seek(0)
    return data


def build_app(engine, tmp_path, files: dict[str, str], logged: list[str]) -> str:
    """Build like the runner: the setup images, the cache decision, the build on its network."""
    root = write_tree(tmp_path, files)
    plan = detect_plan(root, available_pythons=("3.11",))
    ensure_setup_image(engine, plan, logged.append)
    use = package_cache.for_build(engine, plan, {}, logged.append)
    text = generate_dockerfile(plan, package_cache=bool(use.network))
    generated = generated_files(plan, Tree(root))
    context = tar_of(
        {**files, **generated, "Dockerfile": text, ".dockerignore": generate_dockerignore()}
    )
    tag = f"deployer-test/package-cache-app:{len(logged)}"
    result = image.build_image(
        engine.api,
        context,
        dockerfile="Dockerfile",
        tag=tag,
        labels=LABELS,
        buildargs=use.buildargs or {},
        log=logged.append,
        network=use.network,
    )
    return result.image_id


def layer_paths(engine, image_id: str) -> list[str]:
    """Every path in every layer of the image (`docker save`, through a temporary file)."""
    with tempfile.TemporaryFile() as saved:
        for chunk in engine.api.get_image(image_id):
            saved.write(chunk)
        saved.seek(0)
        found = []
        with tarfile.open(fileobj=saved) as outer:
            for member in outer:
                if not member.name.endswith("layer.tar"):
                    continue
                with tarfile.open(fileobj=outer.extractfile(member)) as layer:
                    found += layer.getnames()
        return found


def cached_file(engine, pattern: str) -> str:
    """`name mtime` of the cache's copy of a file matching `pattern`, once it is there (proxpi
    finishes a slow first download in the background, having sent uv to PyPI meanwhile)."""
    command = f"find {package_cache.CACHE_DIR} -name '{pattern}' -printf '%f %T@\\n'"
    for _ in range(60):
        found = engine.containers.get(package_cache.name()).exec_run(["sh", "-c", command])
        if found.output.strip():
            return found.output.decode().strip()
        time.sleep(0.5)
    return ""


def test_builds_download_through_the_cache_and_another_project_reuses_its_files(engine, tmp_path):
    nonce = f"# {uuid.uuid4()}: not in the engine's layer cache\n"
    logged: list[str] = []
    first = build_app(
        engine,
        tmp_path / "a",
        {"requirements.txt": f"flask==3.0.3\n{nonce}", "app.py": trees.FLASK_APP},
        logged,
    )
    flask_wheel = cached_file(engine, "flask-3.0.3-*.whl")
    second_logged: list[str] = []
    second = build_app(
        engine,
        tmp_path / "b",
        {"requirements.txt": f"flask==3.0.3\nsix==1.17.0\n{nonce}", "app.py": trees.FLASK_APP},
        second_logged,
    )

    assert any(line.startswith("Package cache: downloads") for line in logged), logged
    assert flask_wheel.startswith("flask-3.0.3-")  # fetched from PyPI into the cache once
    assert cached_file(engine, "flask-3.0.3-*.whl") == flask_wheel  # reused, not fetched again
    assert cached_file(engine, "six-1.17.0-*.whl")
    for built in (first, second):
        listing = engine.containers.run(
            built, ["sh", "-c", "ls /opt; pip list --format=freeze"], remove=True, labels=LABELS
        ).decode()
        assert "flask==3.0.3" in listing.lower()
        assert "uv" not in listing.split()  # fetched and removed in the install step
    paths = layer_paths(engine, second)
    assert any(path.startswith("opt/venv/lib/") for path in paths)  # the walk sees the install
    assert not [path for path in paths if path.startswith("opt/uv")]  # no layer ever held uv


def test_a_dead_cache_falls_back_to_pypi_and_a_stopped_one_is_started_again(
    engine, tmp_path, settings
):
    root = write_tree(tmp_path, {"requirements.txt": "six==1.17.0\n", "app.py": trees.FLASK_APP})
    plan = detect_plan(root, available_pythons=("3.11",))
    logged: list[str] = []
    package_cache.for_build(engine, plan, {}, logged.append)
    engine.containers.get(package_cache.name()).stop(timeout=1)

    restarted = package_cache.for_build(engine, plan, {}, logged.append)
    package_cache.remove(engine)
    settings.DEPLOYER_BASE_IMAGE = "deployer-test/no-such-python:{version}"
    dead = package_cache.for_build(engine, plan, {}, logged.append)

    assert restarted.network == package_cache.name()
    assert any(line.startswith("Package cache started") for line in logged)
    assert dead == package_cache.CacheUse()
    assert any(
        line.startswith("Package cache unavailable") and "installing from PyPI directly" in line
        for line in logged
    ), logged


def test_a_build_step_on_the_cache_network_reaches_the_cache_only(engine, tmp_path):
    plan = detect_plan(
        write_tree(tmp_path, {"requirements.txt": "six==1.17.0\n", "app.py": trees.FLASK_APP}),
        available_pythons=("3.11",),
    )
    use = package_cache.for_build(engine, plan, {}, print)
    gateway = engine.networks.get(use.network).attrs["IPAM"]["Config"][0]["Gateway"]
    slug = "package-cache-victim"
    victim_net = engine.networks.create(f"deployer-{slug}", labels=LABELS)
    victim = engine.containers.run(
        "python:3.11-slim",
        ["python", "-m", "http.server", "8000"],
        detach=True,
        labels=LABELS,
        name=f"{slug}-web",
        network=victim_net.name,
    )
    try:
        victim.reload()
        address = victim.attrs["NetworkSettings"]["Networks"][victim_net.name]["IPAddress"]
        targets = [
            ("cache", package_cache.ALIAS, package_cache.PORT),
            ("other-project-by-name", victim.name, 8000),
            ("other-project-by-address", address, 8000),
            ("postgresql", gateway, 5432),
            ("redis", gateway, 6379),
            ("caddy-admin", gateway, 2019),
            ("docker-api", gateway, 2375),
            ("postgresql-default-bridge", default_bridge_gateway(engine), 5432),
        ]
        # A fresh nonce in the script: the step runs, never taken from the cache.
        probe = PROBE.replace("print(json.dumps(result))", 'print("PROBE", json.dumps(result))')
        dockerfile = (
            "FROM python:3.11-slim\n"
            "COPY probe.py /probe.py\n"
            f"RUN python /probe.py '{json.dumps(targets)}'\n"
        )
        logged: list[str] = []
        image.build_image(
            engine.api,
            tar_of({"Dockerfile": dockerfile, "probe.py": f"{probe}\n# {uuid.uuid4()}\n"}),
            dockerfile="Dockerfile",
            tag="deployer-test/package-cache-probe:1",
            labels=LABELS,
            buildargs={},
            log=logged.append,
            network=use.network,
        )
    finally:
        victim.remove(v=True, force=True)
        victim_net.remove()
    seen = json.loads(next(line for line in logged if line.startswith("PROBE "))[6:])

    assert seen.pop("cache") == "connected"  # the positive control
    assert seen.pop("docker.sock") is False
    assert all(outcome != "connected" for outcome in seen.values()), seen


@pytest.mark.parametrize("manager", ["uv", "poetry", "pipenv"])
def test_a_hash_checked_lock_file_installs_in_one_stage_through_the_cache(
    engine, tmp_path, manager
):
    from tests.integration.test_generated_dockerfiles import LOCKED_TREES, WSGI_APP

    files = {**LOCKED_TREES[manager], "app.py": WSGI_APP, "Procfile": "web: gunicorn app:x\n"}
    logged: list[str] = []
    built = build_app(engine, tmp_path, files, logged)

    assert any("--require-hashes" in line for line in logged), logged
    assert any(line.startswith("Package cache: downloads") for line in logged)
    assert not any("COPY --from" in line for line in logged)  # one stage
    installed = engine.containers.run(
        built, ["sh", "-c", "pip list --format=freeze; ls /opt"], remove=True, labels=LABELS
    ).decode()
    assert "gunicorn==23.0.0" in installed
    assert "uv" not in installed.split()
    assert "deployer-tools" not in installed.split()
    if manager != "uv":  # Poetry 2 and Pipenv locks of PyPI packages: exported by Deployer
        assert not any(
            f"{manager} export" in line or "requirements --hash" in line for line in logged
        )
        assert any(f"-r {EXPORT_FILE}" in line for line in logged)
