"""Generated Dockerfiles build on the real engine and the apps answer HTTP on their published port.

Only ports published on 127.0.0.1 are contacted, never container addresses.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from pathlib import Path

import docker
import pytest

from builds.pipeline.detect import detect_plan
from builds.pipeline.dockerfile import generate_dockerfile, generate_dockerignore
from tests.unit.builds import trees
from tests.unit.builds.conftest import write_tree

LABELS = {"deployer.test": "1", "org.deployer.test": "1"}
BASE_IMAGE = "python:{version}-slim"
DOCKERFILE = ".deployer.Dockerfile"

FLASK_TREE = {
    "requirements.txt": "flask==3.0.3\n",
    "app.py": trees.FLASK_APP,
}
FASTAPI_TREE = {
    "requirements.txt": "fastapi==0.115.0\n",
    "app/__init__.py": "",
    "app/main.py": trees.FASTAPI_APP,
}
DJANGO_SETTINGS = """\
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = os.environ["SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "").split(",")
INSTALLED_APPS = ["django.contrib.staticfiles"]
ROOT_URLCONF = "mysite.urls"
WSGI_APPLICATION = "mysite.wsgi.application"
DATABASES = {}
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
"""
DJANGO_URLS = """\
from django.http import HttpResponse
from django.urls import path


def healthz(request):
    return HttpResponse("ok")


urlpatterns = [path("healthz/", healthz)]
"""
DJANGO_TREE = {
    **trees.django_project(DJANGO_SETTINGS),
    "mysite/urls.py": DJANGO_URLS,
    "static/site.css": "body { color: black; }\n",
}


@pytest.fixture
def engine():
    """A Docker client; every container and image labelled deployer.test=1 is removed afterwards."""
    client = docker.from_env(timeout=300)
    yield client
    for container in client.containers.list(all=True, filters={"label": "deployer.test=1"}):
        container.remove(force=True)
    for image in client.images.list(filters={"label": "deployer.test=1"}):
        client.images.remove(image.id, force=True)
    client.close()


def build_and_run(engine, root: Path, environment: dict[str, str]) -> tuple[object, int]:
    plan = detect_plan(root, available_pythons=("3.11",))
    (root / DOCKERFILE).write_text(generate_dockerfile(plan, base_image=BASE_IMAGE))
    (root / ".dockerignore").write_text(generate_dockerignore())
    try:
        image, _ = engine.images.build(
            path=str(root), dockerfile=DOCKERFILE, labels=LABELS, rm=True, forcerm=True, pull=False
        )
    except docker.errors.BuildError as exc:
        log = "".join(chunk.get("stream", "") for chunk in exc.build_log)
        pytest.fail(f"build failed: {exc}\n{log[-4000:]}")
    container = engine.containers.run(
        image.id,
        detach=True,
        labels=LABELS,
        environment={"PORT": "8000", **environment},
        ports={"8000/tcp": ("127.0.0.1", None)},
    )
    container.reload()
    port = int(container.ports["8000/tcp"][0]["HostPort"])
    return container, port


def get_status(port: int, path: str, container, timeout: float = 60) -> int:
    """The HTTP status of GET 127.0.0.1:port/path, retried while the server starts."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            container.reload()
            if container.status == "exited" or time.monotonic() > deadline:
                logs = container.logs().decode(errors="replace")[-3000:]
                pytest.fail(f"no HTTP answer on 127.0.0.1:{port}{path}; container logs:\n{logs}")
            time.sleep(0.5)


def test_generated_dockerfile_serves_a_flask_app(engine, tmp_path):
    container, port = build_and_run(engine, write_tree(tmp_path, FLASK_TREE), {})

    assert get_status(port, "/health", container) == 200


def test_generated_dockerfile_serves_a_fastapi_app(engine, tmp_path):
    container, port = build_and_run(engine, write_tree(tmp_path, FASTAPI_TREE), {})

    assert get_status(port, "/healthz", container) == 200


def test_generated_dockerfile_serves_a_django_app_with_collected_static_files(engine, tmp_path):
    environment = {"SECRET_KEY": "integration-test-only", "ALLOWED_HOSTS": "127.0.0.1,localhost"}
    container, port = build_and_run(engine, write_tree(tmp_path, DJANGO_TREE), environment)

    assert get_status(port, "/healthz/", container) == 200
    exit_code, output = container.exec_run(["ls", "/app/staticfiles"])
    assert exit_code == 0
    assert b"site.css" in output
    assert container.exec_run(["id", "-u"]).output.strip() == b"10001"
