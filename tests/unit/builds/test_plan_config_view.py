"""The plan shown in the project's settings includes what deployer.toml set: the file, its
processes and scheduled commands (run as cron jobs once live) and the watch paths."""

from __future__ import annotations

import pytest
from django.urls import reverse

from builds.models import Build, Deployment
from builds.selectors import deployments_panel
from projects import services as project_services
from tests.unit.builds.test_views import LONG_AGO, SHA1, make_build

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(user):
    return project_services.create_project(
        user, slug="shop", repo_url="https://example.com/acme/shop.git"
    )


PLAN = {
    "framework": "django",
    "start_command": "gunicorn mysite.wsgi",
    "health_path": "/up",
    "config_file": "deployer.toml",
    "configured": ["health_path", "start_command"],
    "processes": {"web": "gunicorn mysite.wsgi", "worker": "celery -A mysite worker"},
    "cron": [
        {"name": "cleanup", "schedule": "0 3 * * *", "command": "python manage.py clearsessions"}
    ],
    "watch": ["src/", "requirements.txt"],
    "evidence": [
        {"file": "deployer.toml", "line": 2, "message": "[deploy] health_path = '/up': used"}
    ],
}


def test_settings_show_processes_cron_and_watch_paths_from_deployer_toml(auth_client, project):
    make_build(project, Build.State.LIVE, finished_ago=LONG_AGO, plan=PLAN, commit_sha=SHA1)

    html = auth_client.get(reverse("projects:settings", args=[project.slug])).content.decode()

    assert "<dt>Settings file</dt><dd><code>deployer.toml</code>" in html
    assert "<code>worker: celery -A mysite worker</code>" in html
    assert "(each one other than web runs as a container of its own" in html
    assert "<code>0 3 * * *</code> cleanup: <code>python manage.py clearsessions</code>" in html
    assert "<code>src/</code> <code>requirements.txt</code>" in html
    assert "<code>deployer.toml:2</code> [deploy] health_path = &#x27;/up&#x27;: used" in html


def test_the_live_health_path_is_deployer_tomls_over_the_project_setting(project):
    project.health_check_path = "/healthz"
    project.save(update_fields=["health_check_path"])
    build = make_build(project, Build.State.LIVE, finished_ago=LONG_AGO, plan=PLAN)
    Deployment.objects.create(
        project=project, build=build, state=Deployment.State.LIVE, live_at=build.finished_at
    )

    assert deployments_panel(project)["health_path"] == "/up"
