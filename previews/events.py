"""A pull request event as every git host's parser (webhooks/providers.py) reduces it."""

from __future__ import annotations

from dataclasses import dataclass


class PullAction:
    """What a pull request event asks of its preview, whatever the host calls it."""

    OPEN = "open"  # opened or reopened: build the head commit
    UPDATE = "update"  # new commits pushed to its branch: build the new head
    CLOSE = "close"  # closed or merged: remove the preview
    OTHER = ""  # labelled, edited, reviewed, ...: changes nothing


@dataclass(frozen=True)
class PullRequest:
    """What a preview needs of a pull request event. Only `head_sha` (or, when the host sends
    no full sha, the head branch of the project's own repository) is ever built; names and
    URLs are shown, never followed."""

    action: str  # a PullAction
    raw_action: str  # the host's own word, for verdicts
    number: int
    base_branch: str
    head_branch: str
    head_sha: str  # "" when the host sends no full sha (Bitbucket's are short)
    from_fork: bool  # the head repository is not the base repository
    head_repo: str = ""
    title: str = ""
    url: str = ""
