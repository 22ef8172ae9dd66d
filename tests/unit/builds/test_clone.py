from __future__ import annotations

import base64
import os
import shlex
import subprocess

import pytest

from builds.pipeline.clone import (
    Credentials,
    clone_commit,
    git_context,
    parse_commit,
    public_url,
    redact_url,
)
from builds.pipeline.errors import StageError


def _git(cwd, *args):
    env = {
        "GIT_AUTHOR_NAME": "A",
        "GIT_AUTHOR_EMAIL": "a@x",
        "GIT_COMMITTER_NAME": "A",
        "GIT_COMMITTER_EMAIL": "a@x",
        "PATH": "/usr/bin:/bin",
    }
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
        f"file://{path}",
        sha,
        tmp_path / which,
        log=lambda _: None,
        allow_file=True,
        branch="main",
    )

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


# Git is a parser, not a shell ---------------------------------------------------------------


def test_a_committed_gitconfig_attributes_hooks_and_signature_run_nothing(tmp_path):
    from tests.hostile_repos import make_hostile_repo, markers

    marker_dir = tmp_path / "markers"
    marker_dir.mkdir()
    sha = make_hostile_repo(tmp_path / "evil", marker_dir, {"app.py": "print('hi')"})

    head = clone_commit(
        f"file://{tmp_path / 'evil'}",
        "main",
        tmp_path / "a",
        log=lambda _: None,
        allow_file=True,
    )
    by_sha = clone_commit(
        f"file://{tmp_path / 'evil'}",
        sha,
        tmp_path / "b",
        log=lambda _: None,
        allow_file=True,
        branch="main",
    )

    assert head.sha == by_sha.sha == sha
    assert (head.author, head.message) == ("Mallory <mallory@example.com>", "hostile")
    assert (tmp_path / "a" / ".gitconfig").is_file()  # checked out as data
    assert markers(marker_dir) == []


def test_every_git_command_gets_an_empty_home_and_no_configuration_of_its_own(tmp_path):
    context = git_context("https://example.com/a/b.git", home=tmp_path / "home")

    env, options = context.env, context.options
    assert env["HOME"] == str(tmp_path / "home")
    assert (env["GIT_CONFIG_GLOBAL"], env["GIT_CONFIG_NOSYSTEM"]) == ("/dev/null", "1")
    assert env["GIT_LFS_SKIP_SMUDGE"] == "1"
    assert env["GIT_CONFIG_COUNT"] == "0"
    for option in (
        "core.hooksPath=/dev/null",
        "core.fsmonitor=false",
        "log.showSignature=false",
        "submodule.recurse=false",
        "protocol.allow=never",
        "protocol.file.allow=never",
        "protocol.http.allow=never",
        "protocol.ssh.allow=never",
    ):
        assert option in options
    assert env["GIT_SSH_COMMAND"] == "/bin/false"  # an https project never uses ssh at all


def test_https_credentials_travel_in_the_environment_scoped_to_the_repository_url(tmp_path):
    credentials = Credentials(username="deploy", password="s3cret-token")

    context = git_context(
        "https://git.example.com:8443/acme/shop.git", home=tmp_path, credentials=credentials
    )

    entries = {
        context.env[f"GIT_CONFIG_KEY_{i}"]: context.env[f"GIT_CONFIG_VALUE_{i}"]
        for i in range(int(context.env["GIT_CONFIG_COUNT"]))
    }
    header = entries["http.https://git.example.com:8443/acme/shop.git.extraHeader"]
    assert header == "Authorization: Basic " + base64.b64encode(b"deploy:s3cret-token").decode()
    assert entries["http.followRedirects"] == "false"
    assert not any("s3cret-token" in option for option in context.options)


def test_ssh_uses_only_the_project_key_and_known_hosts_file(tmp_path):
    key, known = tmp_path / "deploy_key", tmp_path / "known_hosts"

    context = git_context(
        "git@github.com:acme/shop.git", home=tmp_path, ssh_key_file=key, known_hosts_file=known
    )

    command = shlex.split(context.env["GIT_SSH_COMMAND"])
    assert command[:3] == ["ssh", "-i", str(key)]
    for option in (
        "IdentitiesOnly=yes",
        "IdentityAgent=none",
        "BatchMode=yes",
        f"UserKnownHostsFile={known}",
        "StrictHostKeyChecking=accept-new",
    ):
        assert option in command
    assert command[command.index("-F") + 1] == "/dev/null"  # not ~/.ssh/config
    assert "protocol.ssh.allow=always" in context.options


def test_an_ssh_repository_without_a_deploy_key_is_refused_before_ssh_runs(tmp_path):
    with pytest.raises(StageError, match="has no deploy key"):
        clone_commit("git@github.com:acme/shop.git", "main", tmp_path / "s", log=lambda _: None)


def test_the_deploy_key_file_is_private_and_gone_after_the_clone(repo, tmp_path, monkeypatch):
    from builds.pipeline import clone

    seen = {}
    real = clone.git_context

    def spy(url, **kwargs):
        key = kwargs["ssh_key_file"]
        seen["mode"], seen["key"] = (key.stat().st_mode & 0o777 if key else None), key
        return real(url, **kwargs)

    monkeypatch.setattr(clone, "git_context", spy)
    with pytest.raises(StageError):  # nothing listens on port 9
        clone_commit(
            "ssh://git@127.0.0.1:9/acme/shop.git",
            "main",
            tmp_path / "k",
            log=lambda _: None,
            credentials=Credentials(ssh_private_key="-----BEGIN OPENSSH PRIVATE KEY-----\n"),
            timeout=20,
            allow_file=True,  # a loopback host, allowed as in development
        )

    assert seen["mode"] == 0o600
    assert not seen["key"].is_relative_to(tmp_path / "k")
    assert not seen["key"].exists()


def test_a_clone_over_the_size_cap_is_stopped_with_the_setting_named(tmp_path):
    path = tmp_path / "big"
    path.mkdir()
    _git(path, "init", "-q", "-b", "main")
    (path / "blob.bin").write_bytes(os.urandom(3 * 1024 * 1024))  # random: does not compress
    _git(path, "add", ".")
    _git(path, "commit", "-qm", "big")

    with pytest.raises(StageError) as failure:
        clone_commit(
            f"file://{path}",
            "main",
            tmp_path / "z",
            log=lambda _: None,
            allow_file=True,
            max_bytes=1024 * 1024,
        )

    assert str(failure.value) == (
        "The repository is larger than the clone size cap of 1 MB (DEPLOYER_CLONE_MAX_MB): "
        "the clone was stopped."
    )


def test_commit_details_are_parsed_from_the_raw_commit_object():
    raw = (
        "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n"
        "author Ada Lovelace <ada@example.com> 1700000000 +0100\n"
        "committer Ada Lovelace <ada@example.com> 1700000000 +0100\n"
        "gpgsig -----BEGIN PGP SIGNATURE-----\n -----END PGP SIGNATURE-----\n"
        "\n\nFix the thing\n\nLonger text.\n"
    )

    commit = parse_commit("a" * 40, raw)

    assert (commit.author, commit.message) == ("Ada Lovelace <ada@example.com>", "Fix the thing")
