"""A project's volumes on the real engine: a file written by the app outlives three
redeploys and a rollback; the engine measures it; removing it deletes the engine volume;
deleting the project removes its volumes too."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from builds import deletion
from builds import docker as docker_seam
from builds import services as build_services
from builds.models import Build
from tests.integration.apps import REDIS_COUNTER_APP
from tests.integration.conftest import build_log, deploy, http_get, wait_for_build, wait_until
from volumes import services
from volumes.models import Volume

pytestmark = pytest.mark.django_db(transaction=True)

# The counter app without Redis: only its file routes are used here.
FILE_APP = {
    **REDIS_COUNTER_APP,
    "requirements.txt": "flask>=3,<4\ngunicorn>=22\n",
    "app.py": REDIS_COUNTER_APP["app.py"].replace("import redis\n", ""),
}


def live_port(project) -> int:
    return project.deployments.get(state="live").host_port


def test_a_file_on_a_volume_survives_three_redeploys_and_a_rollback(
    celery_worker, git_repo, make_project, docker_client
):
    repo = git_repo(FILE_APP)
    project = make_project(repo)
    uploads = services.add_volume(project, "uploads", "/app/uploads/")
    assert uploads.path == "/app/uploads"

    first = deploy(project)
    assert first.state == Build.State.LIVE, first.failure_reason + build_log(first)
    assert "Created the volume uploads at /app/uploads" in build_log(first)
    assert http_get(live_port(project), "/put?text=kept") == (200, "stored")

    builds = [first]
    for number in (2, 3, 4):
        repo.commit({"version.txt": f"{number}\n"}, f"deploy {number}")
        built = deploy(project)
        assert built.state == Build.State.LIVE, built.failure_reason + build_log(built)
        assert http_get(live_port(project), "/file") == (200, "kept")
        builds.append(built)
    rollback = wait_for_build(build_services.request_rollback(project, first), timeout=300)
    assert rollback.state == Build.State.LIVE, rollback.failure_reason
    assert http_get(live_port(project), "/file") == (200, "kept")

    container = docker_client.containers.get(rollback.deployments.get().container_id)
    mounts = {m["Destination"]: m for m in container.attrs["Mounts"]}
    assert mounts["/app/uploads"]["Name"] == uploads.engine_name
    engine_volume = docker_client.volumes.get(uploads.engine_name)
    assert engine_volume.attrs["Labels"]["org.deployer.project"] == project.slug

    with docker_seam.client() as client:
        services.measure(client)
    uploads.refresh_from_db()
    assert uploads.size is not None and uploads.size >= len("kept")

    # Removal: typed name required; the live container holds it until the next deploy.
    with pytest.raises(services.VolumeError, match="type uploads"):
        services.request_removal(uploads, "upload")
    services.request_removal(uploads, "uploads")
    with docker_seam.client() as client:
        assert services.settle(client)["waiting"] == 1
    repo.commit({"version.txt": "5\n"}, "without the volume")
    after = deploy(project)
    assert after.state == Build.State.LIVE, after.failure_reason
    assert http_get(live_port(project), "/file") == (200, "no file")  # no longer mounted
    with docker_seam.client() as client:
        # The replaced container goes shortly after the switch; then the volume can go.
        wait_until(lambda: services.settle(client)["waiting"] == 0, timeout=60, interval=1)
    assert not Volume.objects.filter(pk=uploads.pk).exists()
    assert not docker_client.volumes.list(filters={"name": uploads.engine_name})


def test_deleting_the_project_removes_its_volumes(
    celery_worker, git_repo, make_project, docker_client
):
    project = make_project(git_repo(FILE_APP))
    data = services.add_volume(project, "data", "/data")
    assert deploy(project).state == Build.State.LIVE
    assert docker_client.volumes.get(data.engine_name)

    problems = deletion.delete_project(project)

    assert problems == []
    assert not docker_client.volumes.list(filters={"name": data.engine_name})


@pytest.mark.parametrize(
    "path, said",
    [
        ("uploads", "is not absolute"),
        ("/app/../etc", "'..' part"),
        ("/", "is outside the app"),
        ("/etc", "is outside the app"),
        ("/usr/lib", "is outside the app"),
        ("/proc/self", "is outside the app"),
        ("/opt/venv", "is outside the app"),
        ("/app", "would hide its code"),
        ("/app/a b", "characters other than"),
        ("", "Give the path"),
    ],
)
def test_a_path_outside_the_app_is_refused_and_nothing_recorded(make_project, git_repo, path, said):
    project = make_project(git_repo(FILE_APP))

    with pytest.raises(ValidationError, match=said):
        services.add_volume(project, "media", path)
    assert not project.volumes.exists()
