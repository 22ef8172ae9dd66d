"""deployer.toml on the real engine: the app's own config decides its health check and release
over the project's settings, and an invalid file fails the build at detection with its line."""

from __future__ import annotations

import pytest

from builds.models import Build
from tests.integration.apps import FLASK_APP
from tests.integration.conftest import build_log, deploy, http_get

pytestmark = pytest.mark.django_db(transaction=True)

# "/" fails on purpose: only deployer.toml's health path lets this app go live.
APP = {
    **FLASK_APP,
    "app.py": FLASK_APP["app.py"].replace(
        "    return f\"{os.environ.get('GREETING', 'hello')} from v1\"\n",
        "    return 'not here', 500\n",
    )
    + "\n\n@app.get('/up')\ndef up():\n    return 'up'\n",
    "deployer.toml": (
        '[deploy]\nhealth_path = "/up"\nrelease = "python -c \\"print(\'released by toml\')\\""\n'
    ),
}


def test_the_apps_deployer_toml_decides_its_health_check_and_release(
    celery_worker, git_repo, make_project
):
    project = make_project(git_repo(APP))
    project.health_check_path = "/"
    project.save(update_fields=["health_check_path"])

    build = deploy(project)

    assert build.state == Build.State.LIVE, build.failure_reason + build_log(build)
    log = build_log(build)
    assert "released by toml" in log
    assert build.plan["health_path"] == "/up" and "health_path" in build.plan["configured"]
    port = project.deployments.get(state="live").host_port
    assert http_get(port, "/up") == (200, "up")


def test_an_invalid_deployer_toml_fails_at_detection_naming_its_line(
    celery_worker, git_repo, make_project
):
    project = make_project(
        git_repo({**FLASK_APP, "deployer.toml": '[deploy]\nhealthpath = "/up"\n'})
    )

    build = deploy(project)

    assert (build.state, build.failure_stage) == ("failed", "detecting")
    assert "deployer.toml line 2" in build.failure_reason and "healthpath" in build.failure_reason
