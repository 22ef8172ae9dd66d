"""Issue 21 on the real engine: the app behind a repository's own Dockerfile is analysed like
any other (a Django app gets its release step), the builder setting can set that Dockerfile
aside, and an app one folder down with its dependency files at the root deploys as it is."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from builds.models import Build
from tests.integration.apps import ARTICLE_DJANGO_APP, FLASK_APP
from tests.integration.conftest import build_log, deploy, http_get

pytestmark = pytest.mark.django_db(transaction=True)

# The seed article's app with a Dockerfile of its own, as production Django repositories
# ship one: it builds and serves the app, and leaves the database to whoever deploys it.
OWN_DJANGO_DOCKERFILE = (
    "FROM python:3.11-slim\n"
    "WORKDIR /srv/site\n"
    "COPY requirements.txt .\n"
    "RUN pip install --no-cache-dir -r requirements.txt\n"
    "COPY . .\n"
    "EXPOSE 8000\n"
    'CMD ["gunicorn", "mysite.wsgi", "--bind", "0.0.0.0:8000"]\n'
)


def _port(project) -> int:
    return project.deployments.get(state="live").host_port


def test_a_django_app_with_its_own_dockerfile_is_migrated_by_the_release_step(
    celery_worker, git_repo, make_project
):
    project = make_project(git_repo({**ARTICLE_DJANGO_APP, "Dockerfile": OWN_DJANGO_DOCKERFILE}))
    call_command("addon", "create", project.slug, "postgres")

    build = deploy(project)

    assert build.state == Build.State.LIVE, build.failure_reason + build_log(build)
    assert build.plan["kind"] == "dockerfile" and build.plan["framework"] == "django"
    assert build.plan["release_command"] == "python manage.py migrate --noinput"
    log = build_log(build)
    assert "Building the repository's own Dockerfile as is" in log
    assert "Applying notes.0001_initial... OK" in log  # the release step, in the new image
    assert http_get(_port(project), "/add?text=migrated") == (200, "added")
    assert http_get(_port(project), "/") == (200, "1 notes: migrated")


def test_the_builder_setting_sets_the_own_dockerfile_aside(celery_worker, git_repo, make_project):
    broken_own = "FROM python:3.11-slim\nCMD python -c 'raise SystemExit(\"made elsewhere\")'\n"
    project = make_project(git_repo({**FLASK_APP, "Dockerfile": broken_own}))
    project.builder = "generated"
    project.save(update_fields=["builder"])

    build = deploy(project)

    assert build.state == Build.State.LIVE, build.failure_reason + build_log(build)
    assert build.plan["kind"] == "inferred" and build.plan["framework"] == "flask"
    assert "set aside by the project's builder setting" in build_log(build)
    assert http_get(_port(project)) == (200, "hello from v1")


def test_an_app_one_folder_down_uses_the_roots_dependency_files(
    celery_worker, git_repo, make_project
):
    # NetBox's layout: the Django project in a folder, its requirements at the root.
    files = {
        "requirements.txt": ARTICLE_DJANGO_APP["requirements.txt"],
        "README.md": "The site lives in site/.\n",
        **{f"site/{name}": text for name, text in ARTICLE_DJANGO_APP.items() if "/" in name},
        "site/manage.py": ARTICLE_DJANGO_APP["manage.py"],
    }
    project = make_project(git_repo(files))

    build = deploy(project)

    assert build.state == Build.State.LIVE, build.failure_reason + build_log(build)
    assert build.plan["app_dir"] == "site"
    assert "Applying notes.0001_initial... OK" in build_log(build)
    assert http_get(_port(project), "/add?text=below") == (200, "added")
    assert http_get(_port(project), "/") == (200, "1 notes: below")
