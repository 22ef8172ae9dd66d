"""A multi-line secret the app prints (a release command, the app at start) stays hidden on
the real engine: in the build log and in the runtime logs the dashboard shows."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from builds.models import Build
from tests.integration.apps import FLASK_APP
from tests.integration.conftest import build_log, deploy, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

PEM_LINES = [
    "-----BEGIN OPENSSH PRIVATE KEY-----",
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
    "QyNTUxOQAAACDx0pKfJ9mN7sYw1rH4qVbG2cLhYxWn0uQeX9dFzK3pSgAAAJj0Yf8R9GH/",
    "-----END OPENSSH PRIVATE KEY-----",
]
PEM = "\n".join(PEM_LINES) + "\n"

CHATTY_APP = {
    **FLASK_APP,
    "app.py": "import os\nprint('key is', os.environ['DEPLOY_KEY'], flush=True)\n"
    + FLASK_APP["app.py"],
    "Procfile": (
        "release: echo releasing && printenv DEPLOY_KEY\n"
        "web: gunicorn app:app --bind 0.0.0.0:$PORT\n"
    ),
}


def test_a_multi_line_secret_printed_by_the_app_is_hidden_in_build_and_runtime_logs(
    celery_worker, git_repo, make_project, user
):
    project = make_project(git_repo(CHATTY_APP), env={"DEPLOY_KEY": PEM})

    build = deploy(project)

    assert build.state == Build.State.LIVE, build.failure_reason + "\n" + build_log(build)
    log = build_log(build)
    assert "releasing" in log
    assert "********" in log
    for line in PEM_LINES:
        assert line not in log

    client = Client()
    client.force_login(user)
    url = reverse("builds:runtime-logs", args=[project.slug])

    def printed():
        """the app's start-up line reached the runtime logs"""
        html = client.get(url, HTTP_HX_REQUEST="true").content.decode()
        return html if "key is" in html else None

    html = wait_until(printed, timeout=30)
    assert "key is ********" in html
    for line in PEM_LINES:
        assert line not in html


def test_a_secret_in_the_apps_health_answer_is_redacted_from_the_failure_reason(
    celery_worker, git_repo, make_project
):
    token = "tok-health-0123456789abcdef"
    leaky = FLASK_APP["app.py"].replace(
        "    return 'ok'\n",
        "    from flask import Response\n"
        "    return Response('down', status='503 ' + os.environ['API_TOKEN'])\n",
    )
    project = make_project(
        git_repo({**FLASK_APP, "app.py": leaky}),
        env={"API_TOKEN": token},
        health_check_path="/healthz",
    )

    build = deploy(project)

    assert build.state == Build.State.FAILED
    assert "did not pass its health check" in build.failure_reason
    assert "answered 503 ********" in build.failure_reason
    assert token not in build.failure_reason
    assert token not in build_log(build)
