"""Webhook requests shaped as each git host documents them (trimmed of fields Deployer ignores).

Each builder returns (body bytes, headers) signed with `secret` the way that host signs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid

SHA = "bffeb74224043ba2feb48d137756c8a9331c449a"
BEFORE = "28e1879d029cb852e4844d9c718537df08844e03"
ZERO = "0" * 40
EVIL_URL = "https://evil.example/attacker/backdoor.git"
# When the pushed commit was made, in each host's own format.
COMMITTED_AT = "2026-11-30T10:15:00+01:00"


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def encode(payload) -> bytes:
    return json.dumps(payload).encode()


def github(
    secret,
    *,
    ref="refs/heads/main",
    after=SHA,
    event="push",
    delivery=None,
    body=None,
    message="Fix checkout",
    files=None,
):
    payload = {
        "ref": ref,
        "before": BEFORE,
        "after": after,
        "created": False,
        "deleted": after == ZERO,
        "forced": False,
        "compare": f"https://github.com/acme/shop/compare/{BEFORE[:12]}...{after[:12]}",
        "commits": [
            {
                "id": after,
                "message": message,
                "timestamp": COMMITTED_AT,
                "author": {"name": "Ada"},
                **(files or {}),
            }
        ],
        "head_commit": None
        if after == ZERO
        else {"id": after, "message": message, "timestamp": COMMITTED_AT, **(files or {})},
        "repository": {"full_name": "acme/shop", "clone_url": EVIL_URL},
        "pusher": {"name": "octocat", "email": "octocat@example.com"},
        "sender": {"login": "octocat"},
    }
    if event == "ping":
        payload = {"zen": "Keep it logically awesome.", "hook_id": 1, "hook": {"events": ["push"]}}
    body = encode(payload) if body is None else body
    return body, {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-GitHub-Hook-ID": "292430182",
        "X-Hub-Signature": "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest(),
        "X-Hub-Signature-256": "sha256=" + sign(secret, body),
        "User-Agent": "GitHub-Hookshot/044aadd",
    }


def gitlab(
    secret,
    *,
    ref="refs/heads/main",
    after=SHA,
    event="Push Hook",
    delivery=None,
    message="Fix checkout",
    files=None,
):
    payload = {
        "object_kind": "tag_push" if event == "Tag Push Hook" else "push",
        "event_name": "tag_push" if event == "Tag Push Hook" else "push",
        "before": BEFORE,
        "after": after,
        "ref": ref,
        "ref_protected": True,
        "checkout_sha": None if after == ZERO else after,
        "user_id": 4,
        "user_name": "John Smith",
        "user_username": "jsmith",
        "project_id": 15,
        "project": {"path_with_namespace": "acme/shop", "git_http_url": EVIL_URL},
        "commits": [{"id": after, "message": message, "timestamp": COMMITTED_AT, **(files or {})}],
        "total_commits_count": 1,
        "repository": {"name": "shop", "git_http_url": EVIL_URL},
    }
    body = encode(payload)
    return body, {
        "X-Gitlab-Event": event,
        "X-Gitlab-Event-UUID": delivery or str(uuid.uuid4()),
        "X-Gitlab-Webhook-UUID": "a1b2c3d4-0000-4000-8000-000000000001",
        "X-Gitlab-Instance": "https://gitlab.example.com",
        "X-Gitlab-Token": secret,
        "User-Agent": "GitLab/17.2.0",
    }


def gitea(
    secret,
    *,
    ref="refs/heads/main",
    after=SHA,
    event="push",
    delivery=None,
    forgejo=False,
    message="Fix checkout\n",
    files=None,
):
    commit = {"id": after, "message": message, "timestamp": COMMITTED_AT, **(files or {})}
    payload = {
        "ref": ref,
        "before": BEFORE,
        "after": after,
        "compare_url": f"https://gitea.example.com/acme/shop/compare/{BEFORE}...{after}",
        "commits": [commit],
        "total_commits": 1,
        "head_commit": commit,
        "repository": {"full_name": "acme/shop", "clone_url": EVIL_URL},
        "pusher": {"id": 1, "login": "gitea", "username": "gitea"},
        "sender": {"id": 1, "login": "gitea", "username": "gitea"},
    }
    body = encode(payload)
    delivery = delivery or str(uuid.uuid4())
    signature = sign(secret, body)
    # Gitea also sends GitHub- and Gogs-style headers; Forgejo sends all of Gitea's as well.
    headers = {
        "X-GitHub-Delivery": delivery,
        "X-GitHub-Event": event,
        "X-GitHub-Event-Type": event,
        "X-Gogs-Delivery": delivery,
        "X-Gogs-Event": event,
        "X-Gogs-Signature": signature,
        "X-Gitea-Delivery": delivery,
        "X-Gitea-Event": event,
        "X-Gitea-Event-Type": event,
        "X-Gitea-Signature": signature,
        "X-Hub-Signature-256": "sha256=" + signature,
    }
    if forgejo:
        headers |= {
            "X-Forgejo-Delivery": delivery,
            "X-Forgejo-Event": event,
            "X-Forgejo-Event-Type": event,
            "X-Forgejo-Signature": signature,
        }
    return body, headers


def bitbucket_change(
    name="main", hash_=SHA, *, kind="branch", deleted=False, message="Fix checkout\n"
):
    old = {"type": kind, "name": name, "target": {"type": "commit", "hash": BEFORE}}
    new = {
        "type": kind,
        "name": name,
        "target": {
            "type": "commit",
            "hash": hash_,
            "message": message,
            "date": COMMITTED_AT,
        },
        "links": {"html": {"href": EVIL_URL}},
    }
    return {
        "old": old,
        "new": None if deleted else new,
        "created": False,
        "closed": deleted,
        "forced": False,
        "truncated": False,
    }


def bitbucket(secret, *, changes=None, event="repo:push", delivery=None, signed=True):
    payload = {
        "actor": {"display_name": "Grace Hopper", "nickname": "grace", "type": "user"},
        "repository": {"full_name": "acme/shop", "links": {"html": {"href": EVIL_URL}}},
        "push": {"changes": changes if changes is not None else [bitbucket_change()]},
    }
    body = encode(payload)
    headers = {
        "X-Event-Key": event,
        "X-Request-UUID": delivery or str(uuid.uuid4()),
        "X-Hook-UUID": "{b1a2c3d4-0000-4000-8000-000000000002}",
        "X-Attempt-Number": "1",
        "User-Agent": "Bitbucket-Webhooks/2.0",
    }
    if signed:
        headers["X-Hub-Signature"] = "sha256=" + sign(secret, body)
    return body, headers


def generic(secret, *, ref="refs/heads/main", after=SHA, delivery=None):
    body = encode({"ref": ref, "after": after})
    headers = {"X-Deployer-Signature": "sha256=" + sign(secret, body)}
    if delivery:
        headers["X-Deployer-Delivery"] = delivery
    return body, headers


PROVIDERS = {
    "github": github,
    "gitlab": gitlab,
    "gitea": gitea,
    "forgejo": lambda secret, **kw: gitea(secret, forgejo=True, **kw),
    "bitbucket": lambda secret, ref="refs/heads/main", after=SHA, delivery=None: bitbucket(
        secret,
        changes=[_bitbucket_change_for(ref, after)],
        delivery=delivery,
    ),
    "generic": generic,
}


def _bitbucket_change_for(ref: str, after: str) -> dict:
    kind, name = (
        ("tag", ref.removeprefix("refs/tags/"))
        if ref.startswith("refs/tags/")
        else ("branch", ref.removeprefix("refs/heads/"))
    )
    return bitbucket_change(name, after, kind=kind, deleted=after == ZERO)
