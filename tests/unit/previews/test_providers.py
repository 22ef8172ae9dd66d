from __future__ import annotations

import json

import pytest

from previews.events import PullAction
from tests.unit.previews import payloads
from tests.unit.previews.payloads import HEAD
from webhooks import providers


def parsed(body: bytes, headers: dict):
    provider = providers.detect(headers)
    assert provider.verify(body, headers, "s3cret"), provider.name
    return provider.name, providers.parse(provider, body, headers)


@pytest.mark.parametrize("name", list(payloads.PROVIDERS))
@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("opened", PullAction.OPEN),
        ("synchronize", PullAction.UPDATE),
        ("closed", PullAction.CLOSE),
    ],
)
def test_each_host_pull_request_event_becomes_the_same_pull_request(name, action, expected):
    provider, notification = parsed(*payloads.PROVIDERS[name]("s3cret", action=action))

    pull = notification.pull
    assert provider == name
    assert notification.is_push is False
    assert pull.action == expected
    assert (pull.number, pull.base_branch, pull.head_branch) == (7, "main", "feature")
    assert pull.head_sha == HEAD
    assert pull.from_fork is False
    assert notification.updates[0].ref == "refs/heads/feature"


@pytest.mark.parametrize("name", list(payloads.PROVIDERS))
def test_a_pull_request_from_another_repository_is_from_a_fork(name):
    _, notification = parsed(*payloads.PROVIDERS[name]("s3cret", fork=True))

    assert notification.pull.from_fork is True


def test_github_reopened_opens_and_labelled_changes_nothing():
    _, reopened = parsed(*payloads.github("s3cret", action="reopened"))
    _, labelled = parsed(*payloads.github("s3cret", action="labeled"))

    assert reopened.pull.action == PullAction.OPEN
    assert labelled.pull.action == PullAction.OTHER
    assert labelled.pull.raw_action == "labeled"


def test_gitlab_merge_closes_the_preview():
    body, headers = payloads.gitlab("s3cret", action="merge")

    assert parsed(body, headers)[1].pull.action == PullAction.CLOSE


def test_bitbucket_rejected_closes_and_its_short_hash_leaves_the_sha_unknown():
    _, rejected = parsed(*payloads.bitbucket("s3cret", action="pullrequest:rejected"))
    _, short = parsed(*payloads.bitbucket("s3cret", sha=HEAD[:12]))

    assert rejected.pull.action == PullAction.CLOSE
    assert short.pull.head_sha == ""
    assert short.pull.head_branch == "feature"


def test_github_fork_deleted_before_the_event_counts_as_a_fork():
    body, headers = payloads.github("s3cret")
    payload = json.loads(body)
    payload["pull_request"]["head"]["repo"] = None
    body = json.dumps(payload).encode()
    headers["X-Hub-Signature-256"] = "sha256=" + payloads._sign("s3cret", body)

    assert parsed(body, headers)[1].pull.from_fork is True


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"number": "7"}, "pull request number"),
        ({"number": -1}, "pull request number"),
        ({"sha": "not-a-sha"}, "commit sha"),
    ],
)
def test_a_malformed_pull_request_is_refused_with_its_reason(change, message):
    body, headers = payloads.github("s3cret", **{k: v for k, v in change.items() if k == "sha"})
    payload = json.loads(body)
    if "number" in change:
        payload["number"] = change["number"]
    body = json.dumps(payload).encode()
    headers["X-Hub-Signature-256"] = "sha256=" + payloads._sign("s3cret", body)

    with pytest.raises(providers.MalformedPayload, match=message):
        parsed(body, headers)
