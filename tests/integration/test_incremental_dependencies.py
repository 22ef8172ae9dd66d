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


SIX_LOCKED = (
    "\n[[package]]\n"
    'name = "six"\n'
    'version = "1.17.0"\n'
    'source = { registry = "https://pypi.org/simple" }\n'
    'sdist = { url = "https://files.pythonhosted.org/packages/94/e7/b2c673351809dca68a0e064b6af791aa332cf192da575fd474ed7d6f16a2/six-1.17.0.tar.gz", hash = "sha256:ff70335d468e7eb6ec65b95b99d3a2836546063f63acc5171de367e834932a81", size = 34031, upload-time = "2024-12-04T17:35:28.174Z" }\n'
    "wheels = [\n"
    '    { url = "https://files.pythonhosted.org/packages/b7/ce/149a00dd41f10bc29e5921b496af8b574d8413afcd5e30dfa0ed46c2cc5e/six-1.17.0-py2.py3-none-any.whl", hash = "sha256:4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274", size = 11050, upload-time = "2024-12-04T17:35:26.475Z" },\n'
    "]\n"
)


def with_six(files: dict[str, str]) -> dict[str, str]:
    """The uv project with six added, as `uv add six==1.17.0` writes it."""
    return {
        "pyproject.toml": files["pyproject.toml"].replace(
            '"gunicorn==23.0.0"]', '"gunicorn==23.0.0", "six==1.17.0"]'
        ),
        "uv.lock": files["uv.lock"]
        .replace(
            '    { name = "gunicorn" },\n]\n\n[package.metadata]',
            '    { name = "gunicorn" },\n    { name = "six" },\n]\n\n[package.metadata]',
        )
        .replace(
            'specifier = "==23.0.0" }]',
            'specifier = "==23.0.0" }, { name = "six", specifier = "==1.17.0" }]',
        )
        + SIX_LOCKED,
    }


def test_a_package_added_to_uv_lock_installs_alone_on_the_earlier_layer_hash_checked(
    celery_worker, git_repo, make_project, docker_client
):
    from tests.integration.test_generated_dockerfiles import LOCKED_TREES, WSGI_APP

    files = {
        **LOCKED_TREES["uv"],
        "app.py": WSGI_APP,
        "Procfile": "web: gunicorn app:application\n",
    }
    repo = git_repo(files)
    project = make_project(repo)
    first = deploy(project)
    assert first.state == Build.State.LIVE, first.failure_reason + build_log(first)
    layer = first.dependency_base["layer"]
    assert first.dependency_base["requirements"] == ["gunicorn==23.0.0", "packaging==26.4"]

    added_files = with_six(files)
    assert "six" in added_files["uv.lock"].split("[package.metadata]")[0]
    repo.commit(added_files, "uv add six")
    added = deploy(project)

    log = build_log(added)
    assert added.state == Build.State.LIVE, added.failure_reason + log
    assert ON_LAYER in log and "uv.lock keeps every requirement" in log
    assert "--require-hashes" in log  # still checked against the lock's hashes
    assert layer in parents(docker_client, added.image_id)
    assert imports_six(docker_client, added.image_id)
    assert http_get(live_port(project))[0] == 200

    # Back to the first lock: six removed, so everything is installed again without it.
    repo.commit({name: files[name] for name in ("pyproject.toml", "uv.lock")}, "uv remove six")
    removed = deploy(project)

    assert removed.state == Build.State.LIVE, removed.failure_reason + build_log(removed)
    assert ON_LAYER not in build_log(removed)
    assert not imports_six(docker_client, removed.image_id)


def test_a_poetry_2_project_deploys_from_deployers_export_of_its_lock(
    celery_worker, git_repo, make_project, docker_client
):
    from builds.pipeline.detection.locks import EXPORT_FILE
    from tests.integration.test_generated_dockerfiles import LOCKED_TREES, WSGI_APP

    files = {
        **LOCKED_TREES["poetry"],
        "app.py": WSGI_APP,
        "Procfile": "web: gunicorn app:application\n",
    }
    project = make_project(git_repo(files))

    build = deploy(project)

    log = build_log(build)
    assert build.state == Build.State.LIVE, build.failure_reason + log
    assert "exported by Deployer" in log and f"COPY {EXPORT_FILE} {EXPORT_FILE}" in log
    assert "poetry export" not in log and "--require-hashes" in log
    assert http_get(live_port(project))[0] == 200
    installed = image_run(docker_client, build.image_id, ["pip", "list", "--format=freeze"])
    assert "gunicorn==23.0.0" in installed and "poetry" not in installed.lower()
