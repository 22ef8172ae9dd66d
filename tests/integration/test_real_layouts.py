"""Trees shaped like real public repositories deploy through the whole pipeline, or say why not.

Each layout is written by hand after a kind of repository users push: a Django app on
psycopg2 from source, an app asking for Python 3.13, a Procfile that chains its release
steps, a gunicorn.conf.py, a FastAPI app started by the server it names, a monorepo.
"""

from __future__ import annotations

import pytest

from builds.models import Build, Deployment
from tests.integration.apps import DJANGO_APP, FASTAPI_APP, FLASK_APP
from tests.integration.conftest import build_log, deploy, http_get

pytestmark = pytest.mark.django_db(transaction=True)

VERSION_APP = {
    **FLASK_APP,
    "app.py": (
        "import sys\nfrom flask import Flask\n\napp = Flask(__name__)\n\n\n"
        "@app.get('/')\ndef index():\n"
        "    return f'python {sys.version_info[0]}.{sys.version_info[1]}'\n"
    ),
}


def answer(project, path: str = "/") -> tuple[int, str]:
    deployment = Deployment.objects.get(project=project, state=Deployment.State.LIVE)
    return http_get(deployment.host_port, path, host=f"{project.slug}.localhost")


def assert_live(build: Build) -> None:
    assert build.state == Build.State.LIVE, f"{build.failure_reason}\n{build_log(build)[-4000:]}"


def test_django_with_psycopg2_from_source_builds_and_serves(celery_worker, git_repo, make_project):
    files = {
        **DJANGO_APP,
        "requirements.txt": "Django>=5.2,<5.3\ngunicorn>=22\npsycopg2==2.9.10\n",
        "site_conf/urls.py": (
            "import psycopg2\nfrom django.http import HttpResponse\nfrom django.urls import path\n\n\n"
            "def index(request):\n"
            "    return HttpResponse(f'psycopg2 {psycopg2.__version__.split()[0]}')\n\n\n"
            "urlpatterns = [path('', index)]\n"
        ),
    }
    project = make_project(
        git_repo(files), env={"SECRET_KEY": "k" * 40, "ALLOWED_HOSTS": ".localhost"}
    )

    build = deploy(project, timeout=600)

    assert_live(build)
    assert answer(project) == (200, "psycopg2 2.9.10")
    assert "libpq-dev" in build.plan["build_packages"]


def test_an_app_asking_for_python_3_13_runs_on_python_3_13(celery_worker, git_repo, make_project):
    project = make_project(git_repo({**VERSION_APP, ".python-version": "3.13\n"}))

    build = deploy(project)

    assert_live(build)
    assert build.plan["python_version"] == "3.13"
    assert answer(project) == (200, "python 3.13")


def test_an_exact_python_that_is_not_available_fails_before_the_build(
    celery_worker, git_repo, make_project
):
    project = make_project(git_repo({**VERSION_APP, "runtime.txt": "python-3.12.4\n"}))

    build = deploy(project)

    assert build.state == Build.State.FAILED
    assert build.failure_stage == Build.State.DETECTING
    assert "runtime.txt" in build.failure_reason
    assert "3.11" in build.failure_reason and "3.13" in build.failure_reason
    assert "building" not in build.stage_timings


def test_the_python_version_setting_overrides_the_repository(celery_worker, git_repo, make_project):
    repo = git_repo({**VERSION_APP, "runtime.txt": "python-3.12.4\n"})
    project = make_project(repo, python_version="3.13")

    build = deploy(project)

    assert_live(build)
    assert answer(project) == (200, "python 3.13")


def test_a_procfile_that_chains_release_steps_is_split_and_served(
    celery_worker, git_repo, make_project
):
    procfile = (
        "web: python manage.py migrate && python manage.py collectstatic --noinput && "
        "gunicorn site_conf.wsgi --bind 0.0.0.0:$PORT\n"
    )
    project = make_project(
        git_repo({**DJANGO_APP, "Procfile": procfile}),
        env={"SECRET_KEY": "k" * 40, "ALLOWED_HOSTS": ".localhost"},
    )

    build = deploy(project)

    assert_live(build)
    assert "migrate" in (build.plan["release_command"] or "")
    assert "gunicorn" in build.plan["start_command"]
    assert "migrate" not in build.plan["start_command"]
    assert "Applying auth.0001_initial" in build_log(build)
    assert answer(project) == (200, "hello from django")


def test_a_gunicorn_conf_in_the_app_root_is_honoured(celery_worker, git_repo, make_project):
    conf = "import os\n\nbind = f\"0.0.0.0:{os.environ.get('PORT', '8000')}\"\nworkers = 1\nproc_name = 'from-conf'\n"
    project = make_project(git_repo({**FLASK_APP, "gunicorn.conf.py": conf}))

    build = deploy(project)

    assert_live(build)
    assert any("gunicorn.conf.py" in (item["file"] or "") for item in build.plan["evidence"])
    assert answer(project) == (200, "hello from v1")


def test_a_fastapi_app_is_served_by_the_server_its_procfile_names(
    celery_worker, git_repo, make_project
):
    files = {
        **FASTAPI_APP,
        "requirements.txt": "fastapi>=0.110\nhypercorn>=0.16\n",
        "Procfile": "web: hypercorn main:app --bind 0.0.0.0:$PORT\n",
    }
    project = make_project(git_repo(files))

    build = deploy(project)

    assert_live(build)
    assert build.plan["start_command"].startswith("hypercorn")
    assert answer(project) == (200, '{"framework":"fastapi"}')


def test_an_app_one_level_down_is_found_and_the_app_root_setting_suggested(
    celery_worker, git_repo, make_project
):
    files = {f"backend/{name}": text for name, text in FLASK_APP.items()}
    repo = git_repo({**files, "README.md": "# monorepo\n", "frontend/package.json": "{}\n"})
    project = make_project(repo)

    failed = deploy(project)

    assert failed.state == Build.State.FAILED
    assert "backend" in failed.failure_reason
    assert "app root" in failed.failure_reason.lower()

    project.app_root = "backend"
    project.save()
    assert_live(deploy(project))
    assert answer(project) == (200, "hello from v1")


def test_a_package_that_cannot_compile_fails_with_a_plain_reason(
    celery_worker, git_repo, make_project
):
    dockerfile = "FROM python:3.11-slim\nRUN pip install --no-cache-dir psycopg2==2.9.10\n"
    project = make_project(git_repo({**FLASK_APP, "Dockerfile": dockerfile}))

    build = deploy(project, timeout=300)

    assert build.state == Build.State.FAILED
    assert build.failure_stage == Build.State.BUILDING
    assert "psycopg2 needs pg_config to compile" in build.failure_reason
    assert build_log(build).splitlines()[-2].startswith("Why: psycopg2 needs pg_config")
