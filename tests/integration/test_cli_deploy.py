"""CI's view: `deployer deploy --follow` against a live dashboard, a real worker and engine."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from api import tokens
from builds.models import Build
from tests.integration.apps import FLASK_APP
from tests.integration.conftest import ROOT

pytestmark = pytest.mark.django_db(transaction=True)


def deployer(live_server, token: str, *args: str) -> subprocess.CompletedProcess:
    """The CLI as a CI job runs it: its own process, the server's address and a deploy key."""
    env = {**os.environ, "DEPLOYER_URL": live_server.url, "DEPLOYER_TOKEN": token}
    return subprocess.run(
        [sys.executable, "-m", "deployer_cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_deploy_follow_exits_0_when_live_and_1_when_the_build_fails(
    celery_worker, live_server, git_repo, make_project, user
):
    repo = git_repo(FLASK_APP)
    project = make_project(repo)
    deploy_key = tokens.create_token(user, "ci", scope="deploy", project=project)[1]

    good = deployer(live_server, deploy_key, "deploy", project.slug, "--follow")

    assert good.returncode == 0, good.stdout + good.stderr
    assert "is live" in good.stdout
    assert project.builds.get().state == Build.State.LIVE

    repo.commit({"app.py": "from flask import Flask\napp = Flask(__name__\n"}, "broken")
    bad = deployer(live_server, deploy_key, "deploy", project.slug, "--follow")

    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "failed at detecting" in bad.stderr
    assert "app.py" in bad.stdout + bad.stderr
