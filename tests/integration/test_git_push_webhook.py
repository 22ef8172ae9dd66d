"""A real `git push` to a bare repository whose post-receive hook is the one the setup page shows."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from builds.models import Build, Deployment
from tests.integration.apps import FLASK_APP
from tests.integration.conftest import build_log, http_get, wait_for_build, wait_until
from webhooks import instructions, services
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module", autouse=True)
def _hook_tools():
    missing = [tool for tool in ("bash", "curl", "openssl") if not shutil.which(tool)]
    if missing:
        pytest.fail(
            f"the post-receive hook needs {', '.join(missing)} (apt-get install -y {' '.join(missing)})"
        )


def git(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)


def bare_repository(tmp_path: Path, work: Path) -> Path:
    """A bare repository holding `work`'s main branch, as on a git server."""
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    git(work, "remote", "add", "origin", str(bare))
    git(work, "push", "--quiet", "origin", "main")
    return bare


def install_hook(bare: Path, payload_url: str, secret: str) -> None:
    hook = bare / "hooks" / "post-receive"
    hook.write_text(instructions.post_receive_script(payload_url, secret))
    hook.chmod(0o755)


def test_git_push_through_the_post_receive_hook_deploys_the_pushed_commit(
    celery_worker, live_server, git_repo, make_project, tmp_path
):
    repo = git_repo(FLASK_APP)
    bare = bare_repository(tmp_path, repo.path)
    project = make_project(SimpleNamespace(url=f"file://{bare}"))
    secret = services.endpoint_for(project).decrypted_secret()
    install_hook(bare, f"{live_server.url}/hooks/{project.slug}/", secret)
    assert not Build.objects.filter(project=project).exists()

    sha = repo.commit({"app.py": FLASK_APP["app.py"].replace("from v1", "from v2")}, "v2")
    pushed = git(repo.path, "push", "origin", "main")

    assert '"result": "queued"' in pushed.stderr, pushed.stderr  # the hook's answer, via "remote:"
    build = Build.objects.get(project=project)
    assert build.commit_sha == sha
    assert build.trigger == Build.Trigger.WEBHOOK
    assert build.trigger_detail == "generic push"
    delivery = Delivery.objects.get(project=project)
    assert (delivery.provider, delivery.verdict, delivery.build) == ("generic", "queued", build)

    finished = wait_for_build(build, timeout=300)

    assert finished.state == Build.State.LIVE, finished.failure_reason + "\n" + build_log(finished)
    port = Deployment.objects.get(project=project, state=Deployment.State.LIVE).host_port
    assert http_get(port) == (200, "hello from v2")

    # Pushing another branch is acknowledged and ignored; it builds nothing.
    git(repo.path, "checkout", "--quiet", "-b", "feature")
    repo.commit({"NOTES.md": "wip\n"}, "wip")
    pushed = git(repo.path, "push", "origin", "feature")

    assert '"result": "ignored"' in pushed.stderr, pushed.stderr
    assert Build.objects.filter(project=project).count() == 1

    def two_deliveries():
        """both pushes are recorded"""
        return Delivery.objects.filter(project=project).count() == 2

    wait_until(two_deliveries, timeout=5)
