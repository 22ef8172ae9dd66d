"""Watch paths and skip markers as pure rules, and what each host's push says about them."""

from __future__ import annotations

import json

import pytest

from tests.unit.webhooks import payloads
from tests.unit.webhooks.test_providers import parsed
from webhooks import providers
from webhooks.watch import matches, skip_marker, touches

FILES = {"added": ["src/shop/new.py"], "modified": ["README.md"], "removed": ["old.txt"]}


@pytest.mark.parametrize(
    ("path", "pattern", "expected"),
    [
        ("src/app.py", "src/", True),
        ("src/deep/app.py", "src/", True),
        ("src", "src/", True),
        ("srcs/app.py", "src/", False),
        ("src/app.py", "src", True),
        ("requirements.txt", "requirements.txt", True),
        ("requirements.txt.bak", "requirements.txt", False),
        ("docs/requirements.txt", "requirements.txt", False),
        ("pyproject.toml", "*.toml", True),
        ("config/app.toml", "*.toml", True),  # * crosses folders
        ("app/models.py", "app/*.py", True),
        ("README.md", "*.py", False),
    ],
)
def test_a_watch_path_is_a_file_a_folder_or_a_glob(path, pattern, expected):
    assert matches(path, pattern) is expected


def test_changed_paths_are_matched_from_the_app_root():
    watch = ["src/", "requirements.txt"]

    assert touches(["services/web/src/app.py"], watch, "services/web")
    assert touches(["services/web/requirements.txt"], watch, "/services/web/")
    assert not touches(["requirements.txt", "src/app.py"], watch, "services/web")
    assert not touches(["services/web/docs/index.md"], watch, "services/web")
    assert touches(["src/app.py"], watch, "")
    assert touches(["src/app.py"], watch, ".")


def test_a_change_to_deployer_toml_itself_always_deploys():
    assert touches(["deployer.toml"], ["src/"])
    assert touches(["web/deployer.toml"], ["src/"], "web")
    assert not touches(["other/deployer.toml"], ["src/"], "web")


def test_no_changed_file_touches_nothing():
    assert not touches([], ["src/"])


@pytest.mark.parametrize(
    ("message", "marker"),
    [
        ("Fix typo [skip deploy]", "[skip deploy]"),
        ("Docs\n\n[Deploy Skip]", "[deploy skip]"),
        ("[SKIP DEPLOY] readme", "[skip deploy]"),
        ("skip deploy", None),
        ("[skip ci] tests only", None),
        ("", None),
    ],
)
def test_skip_markers_are_found_in_any_case(message, marker):
    assert skip_marker(message) == marker


@pytest.mark.parametrize("make", [payloads.github, payloads.gitlab, payloads.gitea])
def test_hosts_that_list_files_give_every_changed_path_and_the_message(make):
    notification = parsed(make, files=FILES, message="Add shop [skip deploy]")

    (update,) = notification.updates
    assert update.changed_paths == ("README.md", "old.txt", "src/shop/new.py")
    assert update.message == "Add shop [skip deploy]"


@pytest.mark.parametrize("make", [payloads.github, payloads.gitlab, payloads.gitea])
def test_without_file_lists_the_changed_paths_are_unknown(make):
    (update,) = parsed(make).updates

    assert update.changed_paths is None
    assert update.message.startswith("Fix checkout")


def test_bitbucket_gives_the_message_but_never_the_paths():
    change = payloads.bitbucket_change(message="Docs [skip deploy]\n")

    (update,) = parsed(payloads.bitbucket, changes=[change]).updates

    assert update.changed_paths is None
    assert update.message == "Docs [skip deploy]\n"


def test_generic_hook_knows_neither():
    (update,) = parsed(payloads.generic).updates

    assert (update.changed_paths, update.message) == (None, "")


def github_payload(**changes) -> dict:
    body, _ = payloads.github("s", files=FILES)
    return {**json.loads(body), **changes}


@pytest.mark.parametrize(
    "changes",
    [
        {"forced": True},
        {"created": True},
        {"before": payloads.ZERO},
        {"commits": []},
        {"commits": [{"id": payloads.SHA, "added": ["a"], "modified": "b", "removed": []}]},
        {"commits": [{"id": payloads.SHA, "added": ["a"], "modified": [2], "removed": []}]},
        {"commits": ["not a commit"]},
        {"total_commits_count": 21},  # GitLab lists 20 commits at most
        {"total_commits": 2},
    ],
)
def test_a_payload_that_may_not_list_every_change_leaves_the_paths_unknown(changes):
    assert (
        providers._changed_paths(
            github_payload(**changes),
            changes.get("total_commits_count", changes.get("total_commits")),
        )
        is None
    )


def test_a_push_of_more_commits_than_github_lists_leaves_the_paths_unknown():
    commit = {"id": payloads.SHA, "added": ["a"], "modified": [], "removed": []}
    payload = github_payload(commits=[commit] * providers.GITHUB_MAX_COMMITS)

    assert providers._changed_paths(payload) is None
    assert providers._changed_paths(github_payload(commits=[commit] * 3)) == ("a",)


@pytest.mark.parametrize("make", [payloads.gitlab, payloads.gitea])
def test_hosts_that_list_only_some_commits_must_count_them(make):
    body, _ = make("s", files=FILES)
    payload = json.loads(body)
    payload.pop("total_commits_count", None)
    payload.pop("total_commits", None)

    assert providers._changed_paths(payload, None, counted=True) is None
    assert providers._changed_paths(payload, 1, counted=True) == (
        "README.md",
        "old.txt",
        "src/shop/new.py",
    )
