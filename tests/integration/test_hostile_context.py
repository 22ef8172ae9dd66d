"""Hostile repositories against the build context: content is data, never a path to follow.

Each attack commits links to a "host file" (a file in the test's tmp folder with known content
and mtime), deploys through the real worker and engine, and checks that the host file is
untouched, what the build did, the one sentence the user got, and that the next ordinary
deploy still works.
"""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from builds.models import Build, DetectionPreview
from builds.pipeline import image
from builds.pipeline.context import build_context
from builds.pipeline.errors import StageError
from builds.tasks import run_build
from tests.integration.apps import FLASK_APP
from tests.integration.conftest import (
    TEST_LABEL,
    GitRepo,
    _git,
    build_log,
    deploy,
    http_get,
    start_worker,
    stop_worker,
    wait_for_build,
    wait_until,
)

pytestmark = pytest.mark.django_db(transaction=True)

HOST_TEXT = "* * * * * root echo host file, left alone\n"
LISTING_DOCKERFILE = (
    "FROM python:3.11-slim\n"
    "COPY . /src\n"
    "RUN cat /sys/fs/cgroup/memory.max 2>/dev/null"
    " || cat /sys/fs/cgroup/memory/memory.limit_in_bytes\n"
    "RUN echo cpu-weight $(cat /sys/fs/cgroup/cpu.weight 2>/dev/null"
    " || cat /sys/fs/cgroup/cpu/cpu.shares)\n"
    'CMD ["sh", "-c", "exec python -m http.server $PORT"]\n'
)


@pytest.fixture
def host_file(tmp_path) -> Path:
    """A file outside every repository, standing for /etc/cron.d/x: its content and mtime."""
    path = tmp_path / "host" / "cron-x"
    path.parent.mkdir()
    path.write_text(HOST_TEXT)
    os.utime(path, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    return path


def assert_untouched(path: Path) -> None:
    assert path.read_text() == HOST_TEXT
    assert path.stat().st_mtime_ns == 1_000_000_000_000_000_000


def commit_links(repo: GitRepo, links: dict[str, str], message: str = "links") -> None:
    for name, target in links.items():
        link = repo.path / name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(target)
    repo.commit({}, message)


def remove_and_commit(repo: GitRepo, names: list[str]) -> None:
    for name in names:
        (repo.path / name).unlink()
    _git(repo.path, "add", "--all")
    _git(repo.path, "commit", "--quiet", "-m", "ordinary again")


def image_run(docker_client, image_id: str, command: list[str]) -> str:
    return docker_client.containers.run(
        image_id, command, remove=True, labels={TEST_LABEL: "1"}, entrypoint=[]
    ).decode()


def test_symlinked_generated_dockerfile_is_left_out_and_the_host_file_untouched(
    celery_worker, git_repo, make_project, host_file
):
    repo = git_repo(FLASK_APP)
    commit_links(repo, {".deployer.Dockerfile": str(host_file)})
    project = make_project(repo)

    build = deploy(project)

    assert build.state == Build.State.LIVE, build.failure_reason + "\n" + build_log(build)
    assert_untouched(host_file)
    assert (
        "The repository's own .deployer.Dockerfile is left out of the build context: Deployer "
        "builds from its own file of that name."
    ) in build_log(build)
    port = build.deployments.get().host_port
    assert http_get(port) == (200, "hello from v1")


def test_symlinked_dockerignore_is_refused_and_the_next_deploy_works(
    celery_worker, git_repo, make_project, host_file
):
    repo = git_repo(FLASK_APP)
    commit_links(repo, {".dockerignore": str(host_file)})
    project = make_project(repo)

    refused = deploy(project)

    assert refused.state == Build.State.FAILED
    assert refused.failure_stage == Build.State.DETECTING
    assert refused.failure_reason == (
        f".dockerignore is a link to {host_file}, outside the repository; Deployer reads only "
        "regular files inside the repository. Commit the file itself, or remove it."
    )
    assert_untouched(host_file)
    remove_and_commit(repo, [".dockerignore"])
    again = deploy(project)
    assert again.state == Build.State.LIVE, again.failure_reason
    assert_untouched(host_file)


def test_symlinked_own_dockerfile_is_refused_not_read_and_built(
    celery_worker, git_repo, make_project, host_file
):
    host_file.write_text("FROM python:3.11-slim\nRUN echo built-from-the-host-file\n")
    os.utime(host_file, ns=(1_000_000_000_000_000_000,) * 2)
    repo = git_repo(FLASK_APP)
    commit_links(repo, {"Dockerfile": str(host_file)})
    project = make_project(repo)

    refused = deploy(project)

    assert refused.state == Build.State.FAILED
    assert refused.failure_reason.startswith(
        f"Dockerfile is a link to {host_file}, outside the repository;"
    )
    assert "built-from-the-host-file" not in build_log(refused)
    assert host_file.read_text() == "FROM python:3.11-slim\nRUN echo built-from-the-host-file\n"
    assert refused.image_id == ""
    assert host_file.stat().st_mtime_ns == 1_000_000_000_000_000_000


def test_requirements_linked_to_dev_zero_neither_hangs_nor_eats_memory(
    celery_worker, git_repo, make_project
):
    repo = git_repo({"app.py": FLASK_APP["app.py"]})
    commit_links(repo, {"requirements.txt": "/dev/zero"})
    project = make_project(repo)

    refused = deploy(project, timeout=120)

    assert refused.state == Build.State.FAILED
    assert refused.failure_stage == Build.State.DETECTING
    assert refused.failure_reason.startswith(
        "requirements.txt is a link to /dev/zero, outside the repository;"
    )
    remove_and_commit(repo, ["requirements.txt"])
    repo.commit({"requirements.txt": FLASK_APP["requirements.txt"]}, "real requirements")
    assert deploy(project).state == Build.State.LIVE


def test_git_folder_never_reaches_the_image_and_the_build_runs_capped(
    celery_worker, git_repo, make_project, docker_client, settings
):
    repo = git_repo({"Dockerfile": LISTING_DOCKERFILE, "app.txt": "app\n"})
    project = make_project(repo)

    build = deploy(project)

    assert build.state == Build.State.LIVE, build.failure_reason + "\n" + build_log(build)
    listing = image_run(docker_client, build.image_id, ["ls", "-A", "/src"]).split()
    assert listing == ["Dockerfile", "app.txt"]
    assert str(settings.DEPLOYER_BUILD_MEMORY_MB * 1024 * 1024) in build_log(build)
    # Half an app's CPU weight: shares 512 under cgroup v1, weight 20 under v2 (the engine's
    # conversion of 512); an app container has 1024 / 39.
    weights = [line.split()[-1] for line in build_log(build).splitlines() if "cpu-weight " in line]
    assert weights and weights[-1] in ("512", "20"), weights
    assert "(after .dockerignore; .git is never sent)" in build_log(build)


def test_link_to_a_host_file_reaches_the_image_as_a_link_not_its_content(
    celery_worker, git_repo, make_project, docker_client, host_file
):
    repo = git_repo({"Dockerfile": LISTING_DOCKERFILE})
    commit_links(repo, {"stolen": str(host_file), "conf/zero": "/dev/zero"})
    project = make_project(repo)

    build = deploy(project)

    assert build.state == Build.State.LIVE, build.failure_reason + "\n" + build_log(build)
    seen = image_run(
        docker_client,
        build.image_id,
        ["sh", "-c", "readlink /src/stolen; cat /src/stolen 2>&1; readlink /src/conf/zero"],
    )
    assert seen.splitlines()[0] == str(host_file)
    assert "host file, left alone" not in seen
    assert seen.splitlines()[-1] == "/dev/zero"
    assert_untouched(host_file)


def test_app_root_linked_out_of_the_checkout_is_refused_by_deploy_and_preview(
    celery_worker, git_repo, make_project, user, tmp_path
):
    elsewhere = tmp_path / "host-app"
    elsewhere.mkdir()
    for name, text in FLASK_APP.items():
        (elsewhere / name).write_text(text)
    repo = git_repo({"README.md": "monorepo\n"})
    commit_links(repo, {"web": str(elsewhere)})
    project = make_project(repo, app_root="web")
    expected = (
        f"The app root directory setting 'web' was refused: web is a link to {elsewhere}, "
        "outside the repository; Deployer does not follow links out of the checkout."
    )
    client = Client()
    client.force_login(user)

    client.post(
        reverse("builds:detection-preview", args=[project.slug]), headers={"HX-Request": "true"}
    )
    row = DetectionPreview.objects.get(project=project)
    page = reverse("builds:detection", args=[project.slug]) + f"?preview={row.pk}"

    def previewed():
        """the worker made the preview and the page stopped polling"""
        html = client.get(page, headers={"HX-Request": "true"}).content.decode()
        return None if "Preparing the preview…" in html else html

    html = wait_until(previewed, timeout=60, interval=0.5)
    refused = deploy(project, timeout=120)

    assert expected.replace("'", "&#x27;") in html
    assert "<strong>flask</strong>" not in html  # nothing of the app outside was detected
    assert refused.state == Build.State.FAILED
    assert refused.failure_stage == Build.State.CLONING
    assert refused.failure_reason == expected


def test_a_step_past_the_build_memory_cap_fails_readably_and_a_normal_build_passes(
    docker_client,
):
    def context(dockerfile: str) -> io.BytesIO:
        data, buffer = dockerfile.encode(), io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            info = tarfile.TarInfo("Dockerfile")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        buffer.seek(0)
        return buffer

    def build(dockerfile: str, tag: str) -> image.ImageResult:
        return image.build_image(
            docker_client.api,
            context(dockerfile),
            dockerfile="Dockerfile",
            tag=tag,
            labels={TEST_LABEL: "1"},
            buildargs={},
            log=lambda line: None,
            memory_mb=128,
            cpus=0.5,
        )

    hog = 'RUN python -c "b = bytearray(400 * 1024 * 1024); print(len(b))"'
    with pytest.raises(StageError) as refused:
        build(f"FROM python:3.11-slim\n{hog}\n", "deployer-test/memory-hog:1")
    normal = build(
        'FROM python:3.11-slim\nRUN python -c "b = bytearray(16 * 1024 * 1024)"\n',
        "deployer-test/memory-ok:1",
    )

    assert str(refused.value) == (
        f"The build step `{hog.removeprefix('RUN ')}` was killed (exit code 137), most likely "
        "for using more than the build's memory limit of 128 MB (DEPLOYER_BUILD_MEMORY_MB). "
        "Reduce what the step holds in memory at once, or ask the operator to raise the limit."
    )
    assert normal.image_id.startswith("sha256:")


def test_a_change_to_the_generated_dockerfile_keeps_the_source_copy_cached(docker_client, tmp_path):
    (tmp_path / "app.py").write_text("print('hi')\n")
    lines: list[list[str]] = []
    for comment in ("# first", "# second"):
        dockerfile = f"FROM python:3.11-slim\nCOPY . /app\nLABEL {TEST_LABEL}=1\n{comment}\n"
        built = build_context(tmp_path, dockerfile, patterns=[], max_files=10, max_bytes=1_000_000)
        log: list[str] = []
        image.build_image(
            docker_client.api,
            built.fileobj,
            dockerfile=built.dockerfile,
            tag="deployer-test/cache:1",
            labels={},
            buildargs={},
            log=log.append,
        )
        lines.append(log)

    second = lines[1]
    copy = second.index(next(line for line in second if line.endswith("COPY . /app")))
    assert "Using cache" in second[copy + 1]


def test_a_worker_with_tight_caps_refuses_a_large_context_and_kills_a_memory_hog(
    celery_worker, test_database_url, tmp_path, git_repo, make_project, monkeypatch
):
    monkeypatch.setenv("DEPLOYER_BUILD_CONTEXT_MAX_FILES", "5")
    monkeypatch.setenv("DEPLOYER_BUILD_MEMORY_MB", "128")
    hog = 'RUN python -c "b = bytearray(400 * 1024 * 1024)"'
    many = make_project(
        git_repo({"Dockerfile": LISTING_DOCKERFILE, **{f"data/{i}.txt": "x" for i in range(9)}})
    )
    greedy = make_project(git_repo({"Dockerfile": f"FROM python:3.11-slim\n{hog}\n"}))
    capped = start_worker(test_database_url, tmp_path / "capped.log", name="capped", queue="capped")
    try:
        builds = [Build.objects.create(project=p, ref="main") for p in (many, greedy)]
        for build in builds:
            run_build.apply_async((build.pk,), queue="capped")
        too_many, killed = (wait_for_build(build, timeout=180) for build in builds)
    finally:
        stop_worker(capped)

    assert too_many.state == Build.State.FAILED
    assert too_many.failure_stage == Build.State.BUILDING
    assert too_many.failure_reason == (
        "The build context has more than 5 files after .dockerignore "
        "(DEPLOYER_BUILD_CONTEXT_MAX_FILES). Exclude generated, vendored or data folders in "
        ".dockerignore."
    )
    assert killed.state == Build.State.FAILED
    assert killed.failure_reason.startswith(
        f"The build step `{hog.removeprefix('RUN ')}` was killed (exit code 137), most likely "
        "for using more than the build's memory limit of 128 MB (DEPLOYER_BUILD_MEMORY_MB)."
    )
