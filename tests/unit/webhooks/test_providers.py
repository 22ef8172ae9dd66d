from __future__ import annotations

from datetime import datetime

import pytest
from django.http.request import HttpHeaders

from tests.unit.webhooks import payloads
from tests.unit.webhooks.payloads import SHA
from webhooks import providers
from webhooks.providers import MalformedPayload, RefUpdate

SECRET = "s3cr3t"
COMMITTED = datetime.fromisoformat(payloads.COMMITTED_AT)


def headers_of(raw: dict) -> HttpHeaders:
    """Headers as Django hands them to the view: case-insensitive."""
    return HttpHeaders(
        {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in raw.items()}
    )


def parsed(make, **kwargs) -> providers.Notification:
    body, raw = make(SECRET, **kwargs)
    headers = headers_of(raw)
    provider = providers.detect(headers)
    assert provider.verify(body, headers, SECRET)
    return providers.parse(provider, body, headers)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (payloads.github, "github"),
        (payloads.gitlab, "gitlab"),
        (payloads.gitea, "gitea"),
        (lambda secret: payloads.gitea(secret, forgejo=True), "forgejo"),
        (payloads.bitbucket, "bitbucket"),
        (payloads.generic, "generic"),
    ],
)
def test_each_host_is_recognised_by_its_headers(make, expected):
    _, raw = make(SECRET)

    assert providers.detect(headers_of(raw)).name == expected


def test_gitea_is_not_mistaken_for_github_despite_its_compatibility_headers():
    _, raw = payloads.gitea(SECRET)

    assert "X-GitHub-Event" in raw
    assert providers.detect(headers_of(raw)).name == "gitea"


def test_headers_match_whatever_their_case():
    body, raw = payloads.github(SECRET)
    lower = headers_of({name.lower(): value for name, value in raw.items()})

    assert providers.detect(lower).verify(body, lower, SECRET)


def test_gitea_signature_is_bare_hex_without_a_prefix():
    body, raw = payloads.gitea(SECRET)
    raw["X-Gitea-Signature"] = "sha256=" + raw["X-Gitea-Signature"]
    headers = headers_of(raw)

    assert not providers.detect(headers).verify(body, headers, SECRET)


def test_github_sha1_signature_alone_is_not_accepted():
    body, raw = payloads.github(SECRET)
    del raw["X-Hub-Signature-256"]
    headers = headers_of(raw)

    assert not providers.detect(headers).verify(body, headers, SECRET)


def test_gitlab_token_must_equal_the_secret_exactly():
    body, raw = payloads.gitlab(SECRET)
    raw["X-Gitlab-Token"] = SECRET + " "
    headers = headers_of(raw)

    assert not providers.detect(headers).verify(body, headers, SECRET)


@pytest.mark.parametrize("signature", ["", "sha256=", "sha256=zz", "sha256=é" * 30, "\x00", "☃"])
def test_odd_signature_headers_are_refused_without_error(signature):
    body = b"{}"
    headers = {"X-Deployer-Signature": signature}

    assert providers.detect(headers).verify(body, headers, SECRET) is False


def test_github_push_becomes_one_update_of_the_branch():
    notification = parsed(payloads.github, delivery="abc")

    assert notification.event == "push"
    assert notification.delivery_id == "abc"
    assert notification.is_push
    assert notification.updates == (
        RefUpdate("refs/heads/main", SHA, COMMITTED, message="Fix checkout"),
    )
    assert notification.pusher == "octocat"


def test_github_deleted_branch_has_no_commit():
    notification = parsed(payloads.github, after=payloads.ZERO)

    assert notification.updates == (RefUpdate("refs/heads/main", ""),)


def test_gitlab_prefers_the_idempotency_key_that_survives_retries():
    body, raw = payloads.gitlab(SECRET, delivery="event-uuid")
    raw["Idempotency-Key"] = "retry-stable-key"
    headers = headers_of(raw)

    notification = providers.parse(providers.detect(headers), body, headers)

    assert notification.delivery_id == "retry-stable-key"


def test_gitlab_push_hook_uses_after_and_the_username():
    notification = parsed(payloads.gitlab, delivery="uuid-1")

    assert notification.updates == (
        RefUpdate("refs/heads/main", SHA, COMMITTED, message="Fix checkout"),
    )
    assert (notification.delivery_id, notification.pusher) == ("uuid-1", "jsmith")


def test_forgejo_reads_its_own_delivery_header():
    notification = parsed(
        lambda secret, **kw: payloads.gitea(secret, forgejo=True, **kw), delivery="f-1"
    )

    assert notification.delivery_id == "f-1"


def test_bitbucket_deleted_branch_has_new_null_and_no_commit():
    changes = [payloads.bitbucket_change("main", deleted=True)]

    notification = parsed(payloads.bitbucket, changes=changes)

    assert notification.updates == (RefUpdate("refs/heads/main", ""),)


def test_bitbucket_tags_and_branches_become_full_refs():
    changes = [payloads.bitbucket_change("v2", kind="tag"), payloads.bitbucket_change("main")]

    notification = parsed(payloads.bitbucket, changes=changes)

    assert [update.ref for update in notification.updates] == ["refs/tags/v2", "refs/heads/main"]
    assert notification.pusher == "Grace Hopper"


def test_generic_hook_needs_only_ref_and_after():
    notification = parsed(payloads.generic, delivery="post-receive-1")

    assert notification.updates == (RefUpdate("refs/heads/main", SHA),)
    assert notification.delivery_id == "post-receive-1"


def test_shas_are_lowercased():
    assert parsed(payloads.generic, after=SHA.upper()).updates[0].sha == SHA


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"\xff\xfe garbage",
        b"[" * 100_000 + b"]" * 100_000,
        b"[]",
        b'"a string"',
        b'{"ref": 42, "after": "' + SHA.encode() + b'"}',
        b'{"ref": "refs/heads/main"}',
        b'{"ref": "refs/heads/main", "after": "abc"}',
        b'{"ref": "refs/heads/main", "after": ["x"]}',
    ],
)
def test_bodies_that_are_not_a_documented_push_raise_malformed_payload(body):
    with pytest.raises(MalformedPayload):
        providers.parse(providers.detect({}), body, {})


def test_bitbucket_payload_without_changes_is_malformed():
    body = payloads.encode({"push": {}})

    with pytest.raises(MalformedPayload):
        providers.parse(
            providers.detect({"X-Event-Key": "repo:push"}), body, {"X-Event-Key": "repo:push"}
        )
