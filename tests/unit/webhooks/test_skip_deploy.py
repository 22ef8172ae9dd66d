"""A push that says [skip deploy], or changes no watched file, is recorded as ignored."""

from __future__ import annotations

import pytest

from builds.models import Build
from tests.unit.webhooks import payloads
from tests.unit.webhooks.payloads import SHA
from webhooks import services
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db

LISTING = ["github", "gitlab", "gitea", "forgejo"]  # hosts whose pushes list changed files
DOCS_ONLY = {"added": ["docs/new.md"], "modified": ["README.md"], "removed": []}
SOURCE = {"added": [], "modified": ["src/shop/views.py"], "removed": []}


def push(provider, secret, **kwargs):
    if provider == "bitbucket":
        message = kwargs.pop("message", "Fix checkout\n")
        return payloads.bitbucket(secret, changes=[payloads.bitbucket_change(message=message)])
    if provider == "forgejo":
        return payloads.gitea(secret, forgejo=True, **kwargs)
    return getattr(payloads, provider)(secret, **kwargs)


def detected(project, watch, sha="e" * 40, **fields) -> Build:
    """A finished build whose detection recorded these watch paths."""
    plan = {"health_path": "/", "watch": watch}
    return Build.objects.create(
        project=project, commit_sha=sha, state=Build.State.FAILED, plan=plan, **fields
    )


@pytest.mark.parametrize("provider", ["github", "gitlab", "gitea", "forgejo", "bitbucket"])
@pytest.mark.parametrize("message", ["Fix typo [skip deploy]", "Docs\n\n[deploy skip]\n"])
def test_skip_marker_in_the_head_commit_message_is_ignored(
    provider, message, project, secret, post_hook
):
    response = post_hook(*push(provider, secret, message=message))

    body = response.json()
    assert response.status_code == 200, body
    assert body["result"] == "ignored"
    marker = "[skip deploy]" if "skip deploy" in message else "[deploy skip]"
    assert body["reason"] == f"Commit {SHA[:8]} not deployed: {marker} in the commit message."
    assert not Build.objects.exists()
    delivery = Delivery.objects.get()
    assert (delivery.verdict, delivery.commit_sha) == (Delivery.Verdict.IGNORED, SHA)


@pytest.mark.parametrize("provider", LISTING)
def test_push_missing_every_watch_path_is_ignored_with_the_reason(
    provider, project, secret, post_hook
):
    detected(project, ["src/", "requirements.txt"])

    response = post_hook(*push(provider, secret, files=DOCS_ONLY))

    body = response.json()
    assert body["result"] == "ignored", body
    assert body["reason"] == (
        f"Commit {SHA[:8]} not deployed: no changed file is under the watch paths "
        "(src/, requirements.txt) of deployer.toml."
    )
    assert Build.objects.count() == 1
    assert Delivery.objects.get().verdict == Delivery.Verdict.IGNORED


@pytest.mark.parametrize("provider", LISTING)
def test_push_touching_a_watch_path_deploys(provider, project, secret, post_hook):
    detected(project, ["src/"])

    response = post_hook(*push(provider, secret, files=SOURCE))

    assert response.status_code == 202, response.json()
    assert Build.objects.filter(commit_sha=SHA).exists()


@pytest.mark.parametrize("provider", ["github", "gitlab", "gitea", "bitbucket", "generic"])
def test_push_whose_changed_files_are_unknown_deploys(provider, project, secret, post_hook):
    detected(project, ["src/"])

    response = post_hook(*push(provider, secret))

    assert response.status_code == 202, response.json()


def test_without_watch_paths_every_push_deploys(project, secret, post_hook):
    detected(project, [])

    response = post_hook(*payloads.github(secret, files=DOCS_ONLY))

    assert response.status_code == 202


def test_watch_paths_are_relative_to_the_project_app_root(project, secret, post_hook):
    project.app_root = "services/web"
    project.save(update_fields=["app_root"])
    detected(project, ["src/"])
    outside = {"added": [], "modified": ["src/shop/views.py"], "removed": []}
    inside = {"added": [], "modified": ["services/web/src/shop/views.py"], "removed": []}

    ignored = post_hook(*payloads.github(secret, files=outside))
    queued = post_hook(*payloads.github(secret, files=inside))

    assert ignored.json()["result"] == "ignored"
    assert queued.status_code == 202


def test_the_newest_detected_build_decides_and_rollbacks_do_not(project):
    older = detected(project, ["old/"], sha="1" * 40)
    detected(project, ["src/", "lib/"], sha="2" * 40)
    Build.objects.create(project=project, commit_sha="3" * 40, state=Build.State.FAILED)
    detected(project, ["old/"], sha="1" * 40, rollback_of=older)

    assert services.watch_paths(project) == ["src/", "lib/"]


def test_a_project_never_detected_has_no_watch_paths(project):
    Build.objects.create(project=project, commit_sha="3" * 40, state=Build.State.FAILED)

    assert services.watch_paths(project) == []


def test_a_duplicate_push_is_still_reported_as_a_duplicate(project, secret, post_hook):
    Build.objects.create(project=project, commit_sha=SHA, state=Build.State.BUILDING)

    response = post_hook(*payloads.github(secret, message="[skip deploy]"))

    assert response.json()["result"] == "duplicate"
