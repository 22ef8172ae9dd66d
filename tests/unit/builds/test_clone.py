from __future__ import annotations

import subprocess

import pytest

from builds.pipeline.clone import clone_commit, public_url, redact_url
from builds.pipeline.errors import StageError


def _git(cwd, *args):
    env = {"GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@x", "GIT_COMMITTER_NAME": "A",
           "GIT_COMMITTER_EMAIL": "a@x", "PATH": "/usr/bin:/bin"}  # fmt: skip
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path):
    path = tmp_path / "origin"
    path.mkdir()
    _git(path, "init", "-q", "-b", "main")
    (path / "app.py").write_text("v1")
    _git(path, "add", ".")
    _git(path, "commit", "-qm", "first")
    first = _git(path, "rev-parse", "HEAD")
    (path / "app.py").write_text("v2")
    _git(path, "commit", "-qam", "second")
    return path, first


def test_clones_the_branch_head(repo, tmp_path):
    path, _ = repo

    commit = clone_commit(
        f"file://{path}", "main", tmp_path / "a", log=lambda _: None, allow_file=True
    )

    assert commit.message == "second"
    assert (tmp_path / "a" / "app.py").read_text() == "v2"


def test_clones_exactly_the_commit_asked_for(repo, tmp_path):
    path, first = repo

    commit = clone_commit(
        f"file://{path}", first, tmp_path / "b", log=lambda _: None, allow_file=True
    )

    assert commit.sha == first
    assert (tmp_path / "b" / "app.py").read_text() == "v1"


@pytest.mark.parametrize("which", ["head", "older"])
def test_a_commit_pushed_to_a_branch_is_checked_out_whether_or_not_it_is_the_head(
    repo, tmp_path, which
):
    path, first = repo
    sha = _git(path, "rev-parse", "HEAD") if which == "head" else first

    commit = clone_commit(
        f"file://{path}", sha, tmp_path / which, log=lambda _: None, allow_file=True,
        branch="main",
    )  # fmt: skip

    assert commit.sha == sha
    assert (tmp_path / which / "app.py").read_text() == ("v2" if which == "head" else "v1")


def test_a_missing_branch_is_named(repo, tmp_path):
    path, _ = repo

    with pytest.raises(StageError, match="Branch 'nope' was not found"):
        clone_commit(f"file://{path}", "nope", tmp_path / "c", log=lambda _: None, allow_file=True)


def test_a_missing_commit_is_named(repo, tmp_path):
    path, _ = repo

    with pytest.raises(StageError, match=r"Commit 0{40} was not found"):
        clone_commit(
            f"file://{path}", "0" * 40, tmp_path / "d", log=lambda _: None, allow_file=True
        )


def test_local_repositories_are_refused_unless_allowed(repo, tmp_path):
    path, _ = repo

    with pytest.raises(StageError, match="not allowed"):
        clone_commit(f"file://{path}", "main", tmp_path / "e", log=lambda _: None)


def test_the_ext_transport_never_runs_a_command(tmp_path):
    marker = tmp_path / "pwned"

    with pytest.raises(StageError):
        clone_commit(
            f"ext::sh -c touch% {marker}",
            "main",
            tmp_path / "f",
            log=lambda _: None,
            allow_file=True,
        )
    assert not marker.exists()


def test_credentials_never_appear_in_errors_or_logs(tmp_path):
    lines = []
    url = "https://deploy-bot:tok3n-s3cret@127.0.0.1:9/x.git"

    with pytest.raises(StageError) as failure:
        clone_commit(url, "main", tmp_path / "g", log=lines.append, timeout=10)

    assert "tok3n-s3cret" not in str(failure.value)
    assert all("tok3n-s3cret" not in line for line in lines)


def test_url_helpers_hide_credentials():
    url = "https://user:pass@github.com/a/b.git"
    assert public_url(url) == "https://github.com/a/b.git"
    assert "pass" not in redact_url(f"fatal: could not read {url}", url)
