"""A delivery for a commit older than the live one (a replay under a new delivery id) deploys nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone as django_timezone

from builds.models import Build, Deployment
from tests.unit.webhooks import payloads
from tests.unit.webhooks.payloads import SHA
from webhooks import providers
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db

PROVIDER_NAMES = list(payloads.PROVIDERS)
LIVE_SHA = "d" * 40
OLDER_SHA = SHA  # what the payloads announce


def _went_live(project, sha: str, *, live_now: bool) -> Build:
    build = Build.objects.create(project=project, commit_sha=sha, state=Build.State.LIVE)
    Deployment.objects.create(
        project=project,
        build=build,
        state=Deployment.State.LIVE if live_now else Deployment.State.SUPERSEDED,
        live_at=django_timezone.now() - (timedelta(0) if live_now else timedelta(hours=1)),
    )
    return build


@pytest.fixture
def history(project):
    """Commit SHA went live, then LIVE_SHA replaced it and is live now."""
    older = _went_live(project, OLDER_SHA, live_now=False)
    live = _went_live(project, LIVE_SHA, live_now=True)
    return older, live


@pytest.mark.parametrize("provider", PROVIDER_NAMES)
def test_replayed_delivery_of_a_commit_that_was_live_before_is_not_redeployed(
    provider, history, secret, post_hook
):
    older, live = history

    response = post_hook(*payloads.PROVIDERS[provider](secret, delivery="replayed-with-a-new-id"))

    body = response.json()
    assert response.status_code == 200, body
    assert body["result"] == "stale"
    assert body["reason"].startswith(f"Commit {OLDER_SHA[:8]}")
    assert (
        f"is older than the live commit {LIVE_SHA[:8]} (build #{live.pk}); not redeployed — "
        "use Rollback to go back to it." in body["reason"]
    )
    assert Build.objects.count() == 2
    delivery = Delivery.objects.get()
    assert delivery.verdict == Delivery.Verdict.STALE
    assert delivery.commit_sha == OLDER_SHA
    assert delivery.build == older


@pytest.mark.parametrize("provider", ["github", "gitlab", "gitea", "forgejo", "bitbucket"])
def test_the_verdict_shows_when_the_host_says_the_commit_was_made(
    provider, history, secret, post_hook
):
    response = post_hook(*payloads.PROVIDERS[provider](secret))

    assert "(committed 2026-11-30 10:15 UTC+01:00)" in response.json()["reason"]


def test_a_commit_built_but_superseded_before_the_live_one_is_not_deployed(
    project, secret, post_hook
):
    Build.objects.create(project=project, commit_sha=OLDER_SHA, state=Build.State.SUPERSEDED)
    _went_live(project, LIVE_SHA, live_now=True)

    response = post_hook(*payloads.github(secret))

    assert response.json()["result"] == "stale"
    assert response.json()["reason"].endswith("use Deploy to build it again.")
    assert Build.objects.count() == 2


def test_the_live_commit_itself_is_still_a_duplicate(project, secret, post_hook):
    _went_live(project, SHA, live_now=True)

    response = post_hook(*payloads.gitea(secret))

    assert response.json()["result"] == "duplicate"
    assert Build.objects.count() == 1


def test_after_a_rollback_the_replaced_commit_is_not_brought_back_by_a_webhook(
    project, secret, post_hook
):
    first = _went_live(project, LIVE_SHA, live_now=False)
    _went_live(project, OLDER_SHA, live_now=False)  # the bad release
    rollback = Build.objects.create(
        project=project, commit_sha=LIVE_SHA, state=Build.State.LIVE, rollback_of=first
    )
    Deployment.objects.create(
        project=project, build=rollback, state=Deployment.State.LIVE, live_at=django_timezone.now()
    )

    response = post_hook(*payloads.bitbucket(secret))

    assert response.json()["result"] == "stale"
    assert f"(build #{rollback.pk})" in response.json()["reason"]


def test_a_commit_that_failed_after_the_live_build_can_be_retried(project, secret, post_hook):
    _went_live(project, LIVE_SHA, live_now=True)
    Build.objects.create(project=project, commit_sha=OLDER_SHA, state=Build.State.FAILED)

    response = post_hook(*payloads.github(secret))

    assert response.status_code == 202
    assert Build.objects.count() == 3


@pytest.mark.parametrize("provider", PROVIDER_NAMES)
def test_a_new_commit_deploys_even_when_the_host_dates_it_before_the_live_one(
    provider, project, secret, post_hook
):
    # Rebases keep a commit's old date: a commit this project never built is never refused.
    _went_live(project, LIVE_SHA, live_now=True)

    response = post_hook(*payloads.PROVIDERS[provider](secret))

    assert response.status_code == 202
    assert response.json()["result"] == "queued"


def test_without_a_live_build_an_old_commit_deploys(project, secret, post_hook):
    Build.objects.create(project=project, commit_sha=OLDER_SHA, state=Build.State.FAILED)

    assert post_hook(*payloads.github(secret)).status_code == 202


# Parsing the commit time --------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["github", "gitlab", "gitea", "forgejo", "bitbucket"])
def test_providers_read_the_pushed_commits_time(provider):
    body, headers = payloads.PROVIDERS[provider]("s3cret")
    notification = providers.parse(providers.detect(headers), body, headers)

    expected = datetime(2026, 11, 30, 9, 15, tzinfo=UTC)
    assert notification.updates[0].committed_at == expected


@pytest.mark.parametrize(
    "value", [None, 42, "yesterday", "2026-11-30T10:15:00", "2026-13-45T99:00"]
)
def test_a_missing_or_odd_commit_time_is_none_and_no_error(value):
    payload = {"id": SHA, "timestamp": value}
    body = payloads.encode({"ref": "refs/heads/main", "after": SHA, "head_commit": payload})
    headers = {"X-GitHub-Event": "push"}

    notification = providers.parse(providers.detect(headers), body, headers)

    assert notification.updates[0].sha == SHA
    assert notification.updates[0].committed_at is None


def test_the_generic_hook_may_send_a_commit_time():
    body = payloads.encode(
        {
            "ref": "refs/heads/main",
            "after": SHA,
            "head_commit": {"id": SHA, "timestamp": "2026-11-30T09:15:00Z"},
        }
    )

    notification = providers.parse(providers.detect({}), body, {})

    assert notification.updates[0].committed_at == datetime(2026, 11, 30, 9, 15, tzinfo=UTC)


@pytest.mark.parametrize("commits", [5, "x", {"id": SHA}, [None, 3]])
def test_an_odd_commits_list_is_no_error(commits):
    body = payloads.encode({"ref": "refs/heads/main", "after": SHA, "commits": commits})
    headers = {"X-GitHub-Event": "push"}

    notification = providers.parse(providers.detect(headers), body, headers)

    assert notification.updates[0].committed_at is None
