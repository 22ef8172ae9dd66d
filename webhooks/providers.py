"""One small verifier and parser per git host that can tell Deployer about a push or a
pull request (opened, pushed to, closed: see previews/).

Each provider recognises its requests by their headers, checks the signature the way that
host signs, and turns the JSON body into a `Notification`. Nothing here touches the database:
bytes and a case-insensitive header mapping (such as `request.headers`) in, plain values out.
Payloads are only parsed after the signature has been checked.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils.dateparse import parse_datetime

from builds.pipeline.sha import is_sha
from previews.events import PullAction, PullRequest

ZERO_SHA = "0" * 40
# GitHub lists at most this many commits in a push payload: a push of more may list not all.
GITHUB_MAX_COMMITS = 2048
# A head commit message longer than this is cut: only its markers matter.
MAX_MESSAGE = 10_000


class MalformedPayload(ValueError):
    """A correctly signed body that is not what the provider documents."""


@dataclass(frozen=True)
class RefUpdate:
    ref: str  # a full ref: refs/heads/main, refs/tags/v1
    sha: str  # the ref's new commit; "" when the ref was deleted
    # When that commit was made, as the host reports it (None when it does not say). Author
    # controlled and kept by rebases: shown in verdicts, never the sole reason to refuse.
    committed_at: datetime | None = None
    # Every path (from the repository root) the pushed commits add, modify or remove; None
    # when the payload does not list them all (no list, a force push, a new branch, more
    # commits than it lists): then nothing is known about them.
    changed_paths: tuple[str, ...] | None = None
    message: str = ""  # the pushed commit's message, as the host reports it ("" unknown)


@dataclass(frozen=True)
class Notification:
    event: str
    delivery_id: str
    is_push: bool
    updates: tuple[RefUpdate, ...] = ()
    pusher: str = ""
    pull: PullRequest | None = None


@dataclass(frozen=True)
class Provider:
    name: str
    claims: Callable[[Mapping[str, str]], bool]
    verify: Callable[[bytes, Mapping[str, str], str], bool]
    parse: Callable[[Any, Mapping[str, str]], Notification]


def detect(headers: Mapping[str, str]) -> Provider:
    """The provider that sent these headers; the generic hook when none claims them."""
    return next(provider for provider in PROVIDERS if provider.claims(headers))


def parse(provider: Provider, body: bytes, headers: Mapping[str, str]) -> Notification:
    """The notification in `body`; raises MalformedPayload."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise MalformedPayload(
            "the body is not JSON (set the content type to application/json)"
        ) from exc
    try:
        return provider.parse(payload, headers)
    except (AttributeError, KeyError, TypeError, IndexError) as exc:
        raise MalformedPayload(f"unexpected payload shape ({type(exc).__name__})") from exc


# Signatures ------------------------------------------------------------------------------------


def hmac_sha256_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _same(given: str | None, expected: str) -> bool:
    # Headers are attacker-controlled text: compare bytes, which any string encodes to.
    given_bytes = (given or "").strip().lower().encode("utf-8", "replace")
    return hmac.compare_digest(given_bytes, expected.encode())


def _signed(
    header: str, prefix: str = "sha256="
) -> Callable[[bytes, Mapping[str, str], str], bool]:
    def verify(body: bytes, headers: Mapping[str, str], secret: str) -> bool:
        return _same(headers.get(header), prefix + hmac_sha256_hex(secret, body))

    return verify


def _gitlab_verify(body: bytes, headers: Mapping[str, str], secret: str) -> bool:
    # GitLab does not sign: it sends the secret itself, so only a constant-time compare remains.
    given = (headers.get("X-Gitlab-Token") or "").encode("utf-8", "replace")
    return hmac.compare_digest(given, secret.encode())


# Payload helpers -------------------------------------------------------------------------------


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise MalformedPayload(f"{what} is missing or not a string")
    return value


def _sha(value: Any, what: str = "after") -> str:
    """A 40-hex commit sha, lowercased; "" for the all-zero sha git uses for a deleted ref."""
    sha = _text(value, what).lower()
    if sha and set(sha) == {"0"}:
        return ""
    if not is_sha(sha):
        raise MalformedPayload(f"{what} is not a 40-character hexadecimal commit sha")
    return sha


def _name(*candidates: Any) -> str:
    return next((value for value in candidates if isinstance(value, str) and value), "")


def _timestamp(value: Any) -> datetime | None:
    """An ISO 8601 time with its offset, or None: a missing or odd timestamp is no error."""
    if not isinstance(value, str):
        return None
    try:
        parsed = parse_datetime(value.strip())
    except ValueError:
        return None
    return parsed if parsed is not None and parsed.tzinfo is not None else None


def _head_commit(payload: Any, sha: str) -> dict:
    """The pushed commit from `head_commit` or `commits[]` (GitHub, GitLab, Gitea); {} if absent."""
    commits = payload.get("commits")
    candidates = [payload.get("head_commit"), *(commits[-20:] if isinstance(commits, list) else [])]
    for commit in candidates:
        if isinstance(commit, dict) and str(commit.get("id", "")).lower() == sha:
            return commit
    return {}


def _message(value: Any) -> str:
    return value[:MAX_MESSAGE] if isinstance(value, str) else ""


def _changed_paths(
    payload: Any, total: Any = None, counted: bool = False
) -> tuple[str, ...] | None:
    """What `commits[].added/modified/removed` list, or None unless they surely list it all.

    `total` is the number of pushed commits as the host counts them; `counted` hosts list
    only some (GitLab 20, Gitea a few), so without a count nothing is known. A force push or
    a new branch may change files no listed commit names.
    """
    if counted and not isinstance(total, int):
        return None
    commits = payload.get("commits")
    if not isinstance(commits, list) or not commits or len(commits) >= GITHUB_MAX_COMMITS:
        return None
    if payload.get("forced") is True or payload.get("created") is True:
        return None
    if str(payload.get("before", "")).strip("0") == "" or (
        isinstance(total, int) and total > len(commits)
    ):
        return None
    paths: set[str] = set()
    for commit in commits:
        for key in ("added", "modified", "removed"):
            files = commit.get(key) if isinstance(commit, dict) else None
            if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
                return None
            paths.update(files)
    return tuple(sorted(paths))


def _push(
    event: str,
    delivery_id: str,
    ref: Any,
    sha: Any,
    pusher: str,
    payload: Any = None,
    total: Any = None,
    counted: bool = False,
) -> Notification:
    commit = _sha(sha)
    known = bool(commit) and isinstance(payload, dict)
    head = _head_commit(payload, commit) if known else {}
    changed = _changed_paths(payload, total, counted) if known else None
    update = RefUpdate(
        _text(ref, "ref"),
        commit,
        _timestamp(head.get("timestamp")),
        changed,
        _message(head.get("message")),
    )
    return Notification(event, delivery_id, True, (update,), pusher)


def _number(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 10**9:
        raise MalformedPayload(f"{what} is not a pull request number")
    return value


def _pull(
    event: str,
    delivery_id: str,
    actions: Mapping[str, str],
    raw_action: Any,
    sender: str,
    **fields: Any,
) -> Notification:
    """The Notification of a pull request event; `fields` are PullRequest's, unchecked."""
    raw = raw_action if isinstance(raw_action, str) else ""
    head_sha = fields.pop("head_sha")
    sha = _sha(head_sha, "the head commit") if head_sha else ""
    pull = PullRequest(
        action=actions.get(raw, PullAction.OTHER),
        raw_action=raw[:40],
        number=_number(fields.pop("number"), "the pull request number"),
        base_branch=_text(fields.pop("base_branch"), "the base branch"),
        head_branch=_text(fields.pop("head_branch"), "the head branch"),
        head_sha=sha,
        from_fork=bool(fields.pop("from_fork")),
        head_repo=_name(fields.pop("head_repo", "")),
        title=_message(fields.pop("title", ""))[:200],
        url=_name(fields.pop("url", "")),
    )
    head = RefUpdate(f"refs/heads/{pull.head_branch}", sha)
    return Notification(event, delivery_id, False, (head,), sender, pull)


GITHUB_ACTIONS = {
    "opened": PullAction.OPEN,
    "reopened": PullAction.OPEN,
    "synchronize": PullAction.UPDATE,
    "closed": PullAction.CLOSE,
}


def _github_pull(payload: Any, event: str, delivery_id: str) -> Notification:
    pr = payload["pull_request"]
    base, head = pr["base"], pr["head"]
    base_repo = (base.get("repo") or {}).get("full_name")
    head_repo = (head.get("repo") or {}).get("full_name")  # null: the fork was deleted
    return _pull(
        event,
        delivery_id,
        GITHUB_ACTIONS,
        payload.get("action"),
        _name((payload.get("sender") or {}).get("login")),
        number=payload.get("number", pr.get("number")),
        base_branch=base.get("ref"),
        head_branch=head.get("ref"),
        head_sha=head.get("sha"),
        from_fork=not head_repo or head_repo != base_repo,
        head_repo=head_repo,
        title=pr.get("title"),
        url=pr.get("html_url"),
    )


# Providers -------------------------------------------------------------------------------------


def _github(payload: Any, headers: Mapping[str, str]) -> Notification:
    event, delivery_id = headers.get("X-GitHub-Event", ""), headers.get("X-GitHub-Delivery", "")
    if event == "pull_request":
        return _github_pull(payload, event, delivery_id)
    if event != "push":
        return Notification(event, delivery_id, is_push=False)
    sha = ZERO_SHA if payload.get("deleted") is True else payload.get("after")
    pusher = _name(
        (payload.get("pusher") or {}).get("name"), (payload.get("sender") or {}).get("login")
    )
    return _push(event, delivery_id, payload.get("ref"), sha, pusher, payload)


def _gitlab(payload: Any, headers: Mapping[str, str]) -> Notification:
    event = headers.get("X-Gitlab-Event", "")
    # Idempotency-Key (GitLab 17.4+) stays the same when GitLab retries; the event UUID may not.
    delivery_id = headers.get("Idempotency-Key") or headers.get("X-Gitlab-Event-UUID", "")
    if event == "Merge Request Hook":
        return _gitlab_merge_request(payload, event, delivery_id)
    if event not in ("Push Hook", "Tag Push Hook"):
        return Notification(event, delivery_id, is_push=False)
    sha = payload.get("after", payload.get("checkout_sha"))
    pusher = _name(payload.get("user_username"), payload.get("user_name"))
    total = payload.get("total_commits_count")
    return _push(event, delivery_id, payload.get("ref"), sha, pusher, payload, total, True)


GITLAB_ACTIONS = {
    "open": PullAction.OPEN,
    "reopen": PullAction.OPEN,
    "update": PullAction.UPDATE,
    "close": PullAction.CLOSE,
    "merge": PullAction.CLOSE,
}


def _gitlab_merge_request(payload: Any, event: str, delivery_id: str) -> Notification:
    attributes = payload["object_attributes"]
    source = attributes.get("source") or {}
    user = payload.get("user") or {}
    return _pull(
        event,
        delivery_id,
        GITLAB_ACTIONS,
        attributes.get("action"),
        _name(user.get("username"), user.get("name")),
        number=attributes.get("iid"),
        base_branch=attributes.get("target_branch"),
        head_branch=attributes.get("source_branch"),
        head_sha=(attributes.get("last_commit") or {}).get("id"),
        from_fork=attributes.get("source_project_id") != attributes.get("target_project_id"),
        head_repo=source.get("path_with_namespace"),
        title=attributes.get("title"),
        url=attributes.get("url"),
    )


GITEA_ACTIONS = {
    "opened": PullAction.OPEN,
    "reopened": PullAction.OPEN,
    "synchronized": PullAction.UPDATE,
    "closed": PullAction.CLOSE,
}


def _gitea_pull(payload: Any, event: str, delivery_id: str) -> Notification:
    pr = payload["pull_request"]
    base, head = pr["base"], pr["head"]
    base_repo = base.get("repo_id") or (base.get("repo") or {}).get("id")
    head_repo = head.get("repo_id") or (head.get("repo") or {}).get("id")
    return _pull(
        event,
        delivery_id,
        GITEA_ACTIONS,
        payload.get("action"),
        _name((payload.get("sender") or {}).get("login")),
        number=payload.get("number", pr.get("number")),
        base_branch=base.get("ref"),
        head_branch=head.get("ref"),
        head_sha=head.get("sha"),
        from_fork=not head_repo or head_repo != base_repo,
        head_repo=(head.get("repo") or {}).get("full_name"),
        title=pr.get("title"),
        url=pr.get("html_url"),
    )


def _gitea_like(prefix: str) -> Callable[[Any, Mapping[str, str]], Notification]:
    def parse_gitea(payload: Any, headers: Mapping[str, str]) -> Notification:
        event = headers.get(f"X-{prefix}-Event", "")
        delivery_id = headers.get(f"X-{prefix}-Delivery", "")
        if event == "pull_request":
            return _gitea_pull(payload, event, delivery_id)
        if event != "push":
            return Notification(event, delivery_id, is_push=False)
        pusher_info = payload.get("pusher") or {}
        pusher = _name(pusher_info.get("login"), pusher_info.get("username"))
        after, total = payload.get("after"), payload.get("total_commits")
        return _push(event, delivery_id, payload.get("ref"), after, pusher, payload, total, True)

    return parse_gitea


BITBUCKET_REF_PREFIX = {"branch": "refs/heads/", "tag": "refs/tags/", "annotated_tag": "refs/tags/"}


BITBUCKET_ACTIONS = {
    "pullrequest:created": PullAction.OPEN,
    "pullrequest:updated": PullAction.UPDATE,
    "pullrequest:fulfilled": PullAction.CLOSE,
    "pullrequest:rejected": PullAction.CLOSE,
}


def _bitbucket_pull(payload: Any, event: str, delivery_id: str) -> Notification:
    pr = payload["pullrequest"]
    source, destination = pr["source"], pr["destination"]
    head_repo = (source.get("repository") or {}).get("full_name")
    base_repo = (destination.get("repository") or {}).get("full_name")
    # Bitbucket sends a 12-character hash: not enough to fetch by, so the branch head is built.
    commit = str((source.get("commit") or {}).get("hash", "")).lower()
    actor = payload.get("actor") or {}
    return _pull(
        event,
        delivery_id,
        BITBUCKET_ACTIONS,
        event,
        _name(actor.get("display_name"), actor.get("nickname")),
        number=pr.get("id"),
        base_branch=(destination.get("branch") or {}).get("name"),
        head_branch=(source.get("branch") or {}).get("name"),
        head_sha=commit if is_sha(commit) else "",
        from_fork=not head_repo or head_repo != base_repo,
        head_repo=head_repo,
        title=pr.get("title"),
        url=((pr.get("links") or {}).get("html") or {}).get("href"),
    )


def _bitbucket(payload: Any, headers: Mapping[str, str]) -> Notification:
    event, delivery_id = headers.get("X-Event-Key", ""), headers.get("X-Request-UUID", "")
    if event.startswith("pullrequest:"):
        return _bitbucket_pull(payload, event, delivery_id)
    if event != "repo:push":
        return Notification(event, delivery_id, is_push=False)
    updates = []
    for change in payload["push"]["changes"]:
        # A deleted branch has "new": null; what it was is in "old".
        new, old = change.get("new"), change.get("old")
        side = new or old or {}
        prefix = BITBUCKET_REF_PREFIX.get(side.get("type"))
        if prefix is None:
            continue  # Mercurial bookmarks and named branches: nothing git can build
        name = _text(side.get("name"), "push.changes[].name")
        sha = _sha(new["target"]["hash"], "push.changes[].new.target.hash") if new else ""
        committed_at = _timestamp(new["target"].get("date")) if new else None
        # Bitbucket lists no changed files: the paths stay unknown.
        message = _message(new["target"].get("message")) if new else ""
        updates.append(RefUpdate(prefix + name, sha, committed_at, None, message))
    actor = payload.get("actor") or {}
    pusher = _name(actor.get("display_name"), actor.get("nickname"))
    return Notification(event, delivery_id, True, tuple(updates), pusher)


def _generic(payload: Any, headers: Mapping[str, str]) -> Notification:
    delivery_id = headers.get("X-Deployer-Delivery", "")
    pusher = _name(payload.get("pusher"))
    return _push("push", delivery_id, payload.get("ref"), payload.get("after"), pusher, payload)


# Gitea and Forgejo also send X-GitHub-* and X-Gogs-* headers for compatibility, and Forgejo
# sends X-Gitea-* too: the most specific header is tried first.
PROVIDERS = (
    Provider(
        "forgejo",
        lambda h: "X-Forgejo-Event" in h,
        _signed("X-Forgejo-Signature", ""),
        _gitea_like("Forgejo"),
    ),
    Provider(
        "gitea",
        lambda h: "X-Gitea-Event" in h,
        _signed("X-Gitea-Signature", ""),
        _gitea_like("Gitea"),
    ),
    Provider("gitlab", lambda h: "X-Gitlab-Event" in h, _gitlab_verify, _gitlab),
    Provider("bitbucket", lambda h: "X-Event-Key" in h, _signed("X-Hub-Signature"), _bitbucket),
    Provider("github", lambda h: "X-GitHub-Event" in h, _signed("X-Hub-Signature-256"), _github),
    Provider("generic", lambda h: True, _signed("X-Deployer-Signature"), _generic),
)
