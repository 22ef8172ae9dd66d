"""A repository's own Dockerfile cannot read another project's image, on the real engine.

Project A is an ordinary generated-Dockerfile app; project B's own Dockerfile tries to
start FROM A's image, COPY out of it, reach Deployer's setup image through an ARG, or
name A's image by id. Each attempt fails in the detecting stage with one sentence naming
the file, line and image, before the engine builds anything for B; A keeps answering and
an ordinary project still deploys (with stages, ARGs and COPY --from of its own).
"""

from __future__ import annotations

import io

import pytest

from builds.models import Build, Deployment
from builds.pipeline.image import SETUP_REPOSITORY
from tests.integration.apps import FLASK_APP
from tests.integration.conftest import TEST_LABEL, build_log, deploy, http_get

pytestmark = pytest.mark.django_db(transaction=True)

STDLIB_APP = (
    "import http.server as s\n"
    "s.ThreadingHTTPServer(('', 8000), s.SimpleHTTPRequestHandler).serve_forever()\n"
)


def live_port(project) -> int:
    return Deployment.objects.get(project=project, state=Deployment.State.LIVE).host_port


def images_of(docker_client, project) -> list:
    return docker_client.images.list(filters={"label": f"org.deployer.project={project.slug}"})


def assert_refused_before_building(build, docker_client, project, *words: str) -> None:
    """Failed while detecting, one sentence naming the Dockerfile, line and image, no image."""
    log = build_log(build)
    assert build.state == Build.State.FAILED, log
    assert build.failure_stage == Build.State.DETECTING, build.failure_reason
    reason = build.failure_reason
    assert reason.startswith("Dockerfile line "), reason
    assert "is refused because" in reason and reason.count(". ") == 0, reason
    for word in words:
        assert word in reason, reason
    assert "Building the repository's own" not in log
    assert "Step 1/" not in log
    assert images_of(docker_client, project) == []


@pytest.fixture
def project_a(celery_worker, git_repo, make_project):
    project = make_project(git_repo(FLASK_APP))
    build = deploy(project)
    assert build.state == Build.State.LIVE, build.failure_reason + "\n" + build_log(build)
    return project, build


def test_another_projects_image_cannot_be_read_by_an_own_dockerfile(
    project_a, git_repo, make_project, docker_client
):
    a, a_build = project_a
    tag, image_id = a_build.image_tag, a_build.image_id
    setup_tags = [
        t
        for image in docker_client.images.list(filters={"label": "org.deployer.role=setup"})
        for t in image.tags
        if t.startswith(f"{SETUP_REPOSITORY}:")
    ]
    assert setup_tags, "the generated build of A left a setup image"
    attacks = {
        "FROM A's tag": (f"FROM {tag}\nCMD cat /app/app.py\n", (tag, "line 1")),
        "COPY --from A's tag": (
            f"FROM python:3.11-slim\nCOPY --from={tag} /app /stolen\nCMD ls /stolen\n",
            (tag, "line 2", "COPY --from"),
        ),
        "ARG naming the setup image": (
            f"ARG X={setup_tags[0]}\nFROM $X\nCMD true\n",
            (setup_tags[0], "line 2", "FROM $X"),
        ),
        "bare id of A's image": (
            f"FROM python:3.11-slim\nCOPY --from={image_id.removeprefix('sha256:')[:12]} /app /s\n",
            ("bare image id", "line 2"),
        ),
        "sha256 id of A's image": (f"FROM {image_id}\n", ("bare image id", "line 1")),
        "Docker Hub form of A's tag": (f"FROM docker.io/{tag}\n", (tag, "deployer/")),
    }
    repo = git_repo({"app.py": STDLIB_APP, "Dockerfile": "FROM python:3.11-slim\n"})
    b = make_project(repo)
    for name, (dockerfile, words) in attacks.items():
        repo.commit({"Dockerfile": dockerfile}, name)
        build = deploy(b)
        assert_refused_before_building(build, docker_client, b, *words)

    assert http_get(live_port(a))[1] == "hello from v1"
    assert not Deployment.objects.filter(project=b).exists()


def test_a_build_argument_cannot_point_an_arg_at_another_projects_image(
    project_a, git_repo, make_project, docker_client
):
    a, a_build = project_a
    dockerfile = "ARG BASE=python:3.11-slim\nFROM ${BASE}\nCOPY app.py /app.py\n"
    b = make_project(
        git_repo({"app.py": STDLIB_APP, "Dockerfile": dockerfile}),
    )
    from projects import services

    services.add_env_var(b, "BASE", a_build.image_tag, available_at_build=True)

    build = deploy(b)

    # The build argument is one of the project's variables, so its value is redacted from
    # the reason like every secret; the refusal still names the line and the rule.
    assert_refused_before_building(build, docker_client, b, "${BASE}", "line 2", "deployer/")
    assert a_build.image_tag not in build.failure_reason
    assert http_get(live_port(a))[1] == "hello from v1"


def test_an_image_deployer_labelled_is_refused_whatever_its_name(
    celery_worker, git_repo, make_project, docker_client
):
    decoy = "decoy-managed-image:1"
    docker_client.images.build(
        fileobj=io.BytesIO(b"FROM python:3.11-slim\n"),
        tag=decoy,
        labels={"org.deployer.managed": "1", TEST_LABEL: "1"},
        rm=True,
    )
    project = make_project(git_repo({"app.py": STDLIB_APP, "Dockerfile": f"FROM {decoy}\n"}))

    build = deploy(project)

    assert build.state == Build.State.FAILED
    assert build.failure_stage == Build.State.BUILDING
    assert build.failure_reason.startswith(f"Dockerfile line 1: FROM {decoy} is refused because")
    assert "org.deployer.managed" in build.failure_reason
    assert "Step 1/" not in build_log(build)
    assert images_of(docker_client, project) == []


def test_a_base_images_onbuild_trigger_cannot_copy_from_deployers_images(
    celery_worker, git_repo, make_project, docker_client
):
    base = "decoy-onbuild-image:1"
    docker_client.images.build(
        fileobj=io.BytesIO(b"FROM python:3.11-slim\nONBUILD COPY --from=deployer/setup:x / /s\n"),
        tag=base,
        labels={TEST_LABEL: "1"},
        rm=True,
    )
    project = make_project(git_repo({"app.py": STDLIB_APP, "Dockerfile": f"FROM {base}\n"}))

    build = deploy(project)

    assert build.state == Build.State.FAILED
    assert build.failure_stage == Build.State.BUILDING
    assert "ONBUILD trigger" in build.failure_reason and "deployer/setup:x" in build.failure_reason
    assert "Step 1/" not in build_log(build)
    assert images_of(docker_client, project) == []


def test_an_own_dockerfile_with_stages_args_and_a_user_still_deploys(
    celery_worker, git_repo, make_project, docker_client
):
    dockerfile = (
        "ARG PY=3.10\n"
        "FROM python:${PY}-slim AS source\n"
        "COPY app.py /src/app.py\n"
        "from python:3.11-slim\n"
        "ARG GREETING_FILE=/srv/hello\n"
        "copy --from=source /src/app.py /srv/app.py\n"
        "COPY --from=0 /src/app.py ${GREETING_FILE}\n"
        "USER nobody\n"
        "WORKDIR /srv\n"
        'CMD ["python", "-u", "/srv/app.py"]\n'
    )
    project = make_project(git_repo({"app.py": STDLIB_APP, "Dockerfile": dockerfile}))
    from projects import services

    services.add_env_var(project, "PY", "3.11", available_at_build=True)

    build = deploy(project)

    assert build.state == Build.State.LIVE, build.failure_reason + "\n" + build_log(build)
    assert build.plan["base_images"] == ["python:3.11-slim", "python:3.11-slim"]
    assert build.plan["image_user"] == "nobody"
    assert build.image_tag.startswith(f"deployer/{project.slug}:{build.pk}-")
    assert len(build.image_tag.rpartition("-")[2]) == 12
    assert http_get(live_port(project), "/app.py")[0] == 200
