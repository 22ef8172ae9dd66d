"""Attack: a captured webhook delivery of an old commit is replayed under a new delivery id.

On the real worker and engine: the replay is recorded as older than live and starts nothing,
the live version keeps answering, and the next ordinary push still deploys.
"""

from __future__ import annotations

import json
import uuid

import pytest
from django.test import Client

from builds.models import Build, Deployment
from tests.integration.apps import FLASK_APP
from tests.integration.conftest import http_get, wait_for_build
from webhooks import providers, services
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db(transaction=True)


def _push(project, sha: str, delivery: str | None = None) -> tuple[int, dict]:
    """What a git host sends: the generic hook, signed with the project's secret."""
    secret = services.endpoint_for(project).decrypted_secret()
    body = json.dumps({"ref": "refs/heads/main", "after": sha}).encode()
    headers = {
        "X-Deployer-Signature": "sha256=" + providers.hmac_sha256_hex(secret, body),
        "X-Deployer-Delivery": delivery or str(uuid.uuid4()),
    }
    response = Client().post(
        f"/hooks/{project.slug}/", data=body, content_type="application/json", headers=headers
    )
    return response.status_code, response.json()


def _deployed(project, sha: str) -> Build:
    status, body = _push(project, sha)
    assert status == 202, body
    build = wait_for_build(Build.objects.get(pk=body["build"]))
    assert build.state == Build.State.LIVE, build.failure_reason
    return build


def _live_port(project) -> int:
    return Deployment.objects.get(project=project, state=Deployment.State.LIVE).host_port


def test_replayed_delivery_of_an_old_commit_does_not_roll_the_app_back(
    celery_worker, git_repo, make_project
):
    repo = git_repo(FLASK_APP)
    old_sha = repo.commit({"VERSION": "1\n"}, "v1")
    project = make_project(repo)
    _deployed(project, old_sha)
    new_sha = repo.commit({"app.py": FLASK_APP["app.py"].replace("from v1", "from v2")}, "v2")
    live = _deployed(project, new_sha)
    assert http_get(_live_port(project)) == (200, "hello from v2")
    builds_before = Build.objects.filter(project=project).count()

    status, body = _push(project, old_sha, delivery="replayed-" + uuid.uuid4().hex)

    assert status == 200
    assert body["result"] == "stale"
    assert body["reason"] == (
        f"Commit {old_sha[:8]} is older than the live commit {new_sha[:8]} "
        f"(build #{live.pk}); not redeployed — use Rollback to go back to it."
    )
    assert Build.objects.filter(project=project).count() == builds_before
    assert Delivery.objects.filter(project=project, verdict=Delivery.Verdict.STALE).count() == 1
    assert http_get(_live_port(project)) == (200, "hello from v2")

    next_sha = repo.commit({"app.py": FLASK_APP["app.py"].replace("from v1", "from v3")}, "v3")
    _deployed(project, next_sha)
    assert http_get(_live_port(project)) == (200, "hello from v3")
