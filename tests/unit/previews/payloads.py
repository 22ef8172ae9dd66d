"""Pull request webhook requests shaped as each git host documents them (trimmed), signed
the way each host signs (see tests/unit/webhooks/payloads.py for pushes)."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid

HEAD = "c0ffee4224043ba2feb48d137756c8a9331c449a"
EVIL_URL = "https://evil.example/attacker/backdoor.git"


def _sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def github(
    secret,
    *,
    action="opened",
    number=7,
    base="main",
    head="feature",
    sha=HEAD,
    fork=False,
    delivery=None,
):
    head_repo = "stranger/shop" if fork else "acme/shop"
    payload = {
        "action": action,
        "number": number,
        "pull_request": {
            "number": number,
            "title": "Add checkout",
            "html_url": f"https://github.com/acme/shop/pull/{number}",
            "merged": False,
            "base": {"ref": base, "sha": "1" * 40, "repo": {"full_name": "acme/shop"}},
            "head": {
                "ref": head,
                "sha": sha,
                "repo": {"full_name": head_repo, "clone_url": EVIL_URL},
            },
        },
        "repository": {"full_name": "acme/shop", "clone_url": EVIL_URL},
        "sender": {"login": "octocat"},
    }
    body = json.dumps(payload).encode()
    headers = {
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": "sha256=" + _sign(secret, body),
    }
    return body, headers


GITLAB_ACTIONS = {
    "opened": "open",
    "reopened": "reopen",
    "synchronize": "update",
    "closed": "close",
}


def gitlab(secret, *, action="opened", number=7, base="main", head="feature", sha=HEAD, fork=False):
    payload = {
        "object_kind": "merge_request",
        "user": {"username": "jsmith", "name": "John Smith"},
        "object_attributes": {
            "iid": number,
            "title": "Add checkout",
            "url": f"https://gitlab.example.com/acme/shop/-/merge_requests/{number}",
            "action": GITLAB_ACTIONS.get(action, action),
            "target_branch": base,
            "source_branch": head,
            "source_project_id": 99 if fork else 1,
            "target_project_id": 1,
            "source": {"path_with_namespace": "stranger/shop" if fork else "acme/shop"},
            "last_commit": {"id": sha},
        },
    }
    body = json.dumps(payload).encode()
    headers = {
        "X-Gitlab-Event": "Merge Request Hook",
        "X-Gitlab-Event-UUID": str(uuid.uuid4()),
        "X-Gitlab-Token": secret,
    }
    return body, headers


GITEA_ACTIONS = {"synchronize": "synchronized"}


def gitea(
    secret,
    *,
    action="opened",
    number=7,
    base="main",
    head="feature",
    sha=HEAD,
    fork=False,
    forgejo=False,
):
    payload = {
        "action": GITEA_ACTIONS.get(action, action),
        "number": number,
        "pull_request": {
            "number": number,
            "title": "Add checkout",
            "html_url": f"https://gitea.example.com/acme/shop/pulls/{number}",
            "base": {"ref": base, "repo_id": 1, "repo": {"id": 1, "full_name": "acme/shop"}},
            "head": {
                "ref": head,
                "sha": sha,
                "repo_id": 2 if fork else 1,
                "repo": {"id": 2 if fork else 1, "full_name": "x/shop" if fork else "acme/shop"},
            },
        },
        "sender": {"login": "gitea"},
    }
    body = json.dumps(payload).encode()
    delivery, signature = str(uuid.uuid4()), _sign(secret, body)
    prefix = "Forgejo" if forgejo else "Gitea"
    headers = {
        f"X-{prefix}-Event": "pull_request",
        f"X-{prefix}-Delivery": delivery,
        f"X-{prefix}-Signature": signature,
        "X-GitHub-Event": "pull_request",
    }
    return body, headers


BITBUCKET_EVENTS = {
    "opened": "pullrequest:created",
    "reopened": "pullrequest:created",
    "synchronize": "pullrequest:updated",
    "closed": "pullrequest:fulfilled",
}


def bitbucket(
    secret, *, action="opened", number=7, base="main", head="feature", sha=HEAD, fork=False
):
    payload = {
        "actor": {"display_name": "Grace Hopper"},
        "pullrequest": {
            "id": number,
            "title": "Add checkout",
            "links": {"html": {"href": f"https://bitbucket.org/acme/shop/pull-requests/{number}"}},
            "source": {
                "branch": {"name": head},
                "commit": {"hash": sha},
                "repository": {"full_name": "stranger/shop" if fork else "acme/shop"},
            },
            "destination": {
                "branch": {"name": base},
                "repository": {"full_name": "acme/shop"},
            },
        },
    }
    body = json.dumps(payload).encode()
    headers = {
        "X-Event-Key": BITBUCKET_EVENTS.get(action, action),
        "X-Request-UUID": str(uuid.uuid4()),
        "X-Hub-Signature": "sha256=" + _sign(secret, body),
    }
    return body, headers


PROVIDERS = {
    "github": github,
    "gitlab": gitlab,
    "gitea": gitea,
    "forgejo": lambda secret, **kw: gitea(secret, forgejo=True, **kw),
    "bitbucket": bitbucket,
}
