"""A dependency change that only adds a requirement installs it on the last live build's
dependency layer (builds/pipeline/incremental.py), on the real engine and package cache; a
removed requirement installs everything again, and another project never starts from this
one's layer."""

from __future__ import annotations

import docker
import pytest

from builds.models import Build
from tests.integration.apps import FLASK_APP
from tests.integration.conftest import build_log, deploy, http_get
from tests.integration.test_hostile_context import TEST_LABEL, image_run
from tests.integration.test_redis_addon import live_port

pytestmark = pytest.mark.django_db(transaction=True)

ON_LAYER = "installing on that build's dependency layer"
IMPORT_SIX = ["python", "-c", "import six; print(six.__version__)"]


def imports_six(docker_client, image_id: str) -> bool:
    try:
        return image_run(docker_client, image_id, IMPORT_SIX).strip() == "1.17.0"
    except docker.errors.ContainerError:
        return False


def parents(docker_client, image_id: str) -> set[str]:
    return {entry["Id"] for entry in docker_client.api.history(image_id)}


def test_an_added_requirement_installs_alone_on_the_earlier_layer_a_removed_one_reinstalls_all(
    celery_worker, git_repo, make_project, docker_client
):
    requirements = FLASK_APP["requirements.txt"]
    repo = git_repo(FLASK_APP)
    project = make_project(repo)
    first = deploy(project)
    assert first.state == Build.State.LIVE, first.failure_reason + build_log(first)
    layer = first.dependency_base["layer"]
    assert layer.startswith("sha256:") and first.dependency_base["depth"] == 0
    assert layer in parents(docker_client, first.image_id)

    repo.commit({"requirements.txt": requirements + "six==1.17.0  # added\n"}, "add six")
    added = deploy(project)

    assert added.state == Build.State.LIVE, added.failure_reason + build_log(added)
    assert ON_LAYER in build_log(added) and f"build #{first.pk}" in build_log(added)
    assert layer in parents(docker_client, added.image_id)  # built on it, not from scratch
    assert added.dependency_base["depth"] == 1
    assert imports_six(docker_client, added.image_id)
    assert http_get(live_port(project))[0] == 200

    # A code-only change after it: the same Dockerfile as that build's, every step cached.
    repo.commit({"app.py": FLASK_APP["app.py"] + "\n# code only\n"}, "code only")
    code = deploy(project)

    assert code.state == Build.State.LIVE, code.failure_reason + build_log(code)
    assert code.dependency_layer_cached is True
    assert code.dependency_base["layer"] == added.dependency_base["layer"]
    assert code.dependency_base["depth"] == 1 and imports_six(docker_client, code.image_id)

    # Removing it: everything is installed again from the setup steps, without six.
    repo.commit({"requirements.txt": requirements}, "remove six")
    removed = deploy(project)

    assert removed.state == Build.State.LIVE, removed.failure_reason + build_log(removed)
    assert ON_LAYER not in build_log(removed)
    assert removed.dependency_base["depth"] == 0
    assert added.dependency_base["layer"] not in parents(docker_client, removed.image_id)
    assert not imports_six(docker_client, removed.image_id)
    assert http_get(live_port(project))[0] == 200


def test_another_project_with_the_same_requirements_never_starts_from_this_one_s_layer(
    celery_worker, git_repo, make_project, docker_client
):
    files = {**FLASK_APP, "requirements.txt": FLASK_APP["requirements.txt"] + "six==1.17.0\n"}
    first = deploy(make_project(git_repo(files)))
    assert first.state == Build.State.LIVE, first.failure_reason

    other = deploy(make_project(git_repo(files)))

    assert other.state == Build.State.LIVE, other.failure_reason
    assert ON_LAYER not in build_log(other)
    assert first.dependency_base["layer"] not in parents(docker_client, other.image_id)
    assert first.dependency_base["digest"] != other.dependency_base["digest"]
    docker_client.containers.prune(filters={"label": TEST_LABEL})
