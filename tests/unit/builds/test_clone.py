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


@pytest.fixture(params=["clone", "mirror"])
def way(request, tmp_path):
    """Each behaviour holds for a fresh clone and for a fetch into the project's mirror."""
    return {} if request.param == "clone" else {"mirror": tmp_path / "mirrors" / "1-x.git"}


def _origin(path, files: dict[str, str | bytes]):
    """A repository at `path` whose branch main has one commit, "first", of `files`."""
    path.mkdir()
    _git(path, "init", "-q", "-b", "main")
    for name, content in files.items():
        write = (
            (path / name).write_bytes if isinstance(content, bytes) else (path / name).write_text
        )
        write(content)
    _git(path, "add", ".")
    _git(path, "commit", "-qm", "first")
    return path


@pytest.fixture
def repo(tmp_path):
    path = _origin(tmp_path / "origin", {"app.py": "v1"})
    first = _git(path, "rev-parse", "HEAD")
    (path / "app.py").write_text("v2")
    _git(path, "commit", "-qam", "second")
    return path, first


def test_clones_the_branch_head(repo, tmp_path, way):
    path, _ = repo

    commit = clone_commit(
        f"file://{path}",
        "main",
        tmp_path / "a",
        log=lambda _: None,
        allow_file=True,
        **way,
    )

    assert commit.message == "second"
    assert (tmp_path / "a" / "app.py").read_text() == "v2"


def test_clones_exactly_the_commit_asked_for(repo, tmp_path, way):
    path, first = repo

    commit = clone_commit(
        f"file://{path}",
        first,
        tmp_path / "b",
        log=lambda _: None,
        allow_file=True,
        **way,
    )

    assert commit.sha == first
    assert (tmp_path / "b" / "app.py").read_text() == "v1"


@pytest.mark.parametrize("which", ["head", "older"])
def test_a_commit_pushed_to_a_branch_is_checked_out_whether_or_not_it_is_the_head(
    repo, tmp_path, which, way
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
        **way,
    )

    assert commit.sha == sha
    assert (tmp_path / which / "app.py").read_text() == ("v2" if which == "head" else "v1")


def test_a_missing_branch_is_named(repo, tmp_path, way):
    path, _ = repo

    with pytest.raises(StageError, match="Branch 'nope' was not found"):
        clone_commit(
            f"file://{path}", "nope", tmp_path / "c", log=lambda _: None, allow_file=True, **way
        )


def test_a_missing_commit_is_named(repo, tmp_path, way):
    path, _ = repo

    with pytest.raises(StageError, match=r"Commit 0{40} was not found"):
        clone_commit(
            f"file://{path}",
            "0" * 40,
            tmp_path / "d",
            log=lambda _: None,
            allow_file=True,
            **way,
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


def test_a_committed_gitconfig_attributes_hooks_and_signature_run_nothing(tmp_path, way):
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
        **way,
    )
    by_sha = clone_commit(
        f"file://{tmp_path / 'evil'}",
        sha,
        tmp_path / "b",
        log=lambda _: None,
        allow_file=True,
        branch="main",
        **way,
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


def test_a_clone_over_the_size_cap_is_stopped_with_the_setting_named(tmp_path, way):
    # Random bytes: they do not compress.
    path = _origin(tmp_path / "big", {"blob.bin": os.urandom(3 * 1024 * 1024)})

    with pytest.raises(StageError) as failure:
        clone_commit(
            f"file://{path}",
            "main",
            tmp_path / "z",
            log=lambda _: None,
            allow_file=True,
            max_bytes=1024 * 1024,
            **way,
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


# A project's mirror ---------------------------------------------------------------------------


def _fetch(path, ref, dest, mirror, **kwargs):
    return clone_commit(
        f"file://{path}", ref, dest, log=lambda _: None, allow_file=True, mirror=mirror, **kwargs
    )


def test_a_push_to_a_mirrored_repository_fetches_only_what_it_adds(tmp_path):
    # Random bytes: they do not compress.
    path = _origin(tmp_path / "origin", {"big.bin": os.urandom(2 * 1024 * 1024), "app.py": "v1"})
    mirror = tmp_path / "mirrors" / "1-x.git"
    _fetch(path, "main", tmp_path / "a", mirror)
    packs = set((mirror / "objects" / "pack").glob("*.pack"))
    (path / "app.py").write_text("v2")
    _git(path, "commit", "-qam", "second")

    commit = _fetch(path, "main", tmp_path / "b", mirror)

    added = set((mirror / "objects" / "pack").glob("*.pack")) - packs
    assert commit.message == "second"
    assert (tmp_path / "b" / "app.py").read_text() == "v2"
    assert (tmp_path / "b" / "big.bin").stat().st_size == 2 * 1024 * 1024  # checked out whole
    assert len(added) == 1 and sum(p.stat().st_size for p in added) < 10_000  # not sent again
    assert not (tmp_path / "b" / ".git").exists()  # the checkout is files only


def test_a_mirrored_checkout_holds_exactly_the_commit_with_links_as_links(tmp_path):
    path = _origin(tmp_path / "origin", {"gone.py": "old", "app.py": "v1"})
    mirror = tmp_path / "mirror.git"
    _fetch(path, "main", tmp_path / "a", mirror)
    _git(path, "rm", "-q", "gone.py")
    (path / "link").symlink_to("/etc/passwd")
    _git(path, "add", ".")
    _git(path, "commit", "-qm", "second")

    _fetch(path, "main", tmp_path / "b", mirror)

    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["app.py", "link"]
    assert os.readlink(tmp_path / "b" / "link") == "/etc/passwd"  # data, never followed here


def test_a_damaged_mirror_is_started_again(repo, tmp_path):
    path, _ = repo
    mirror = tmp_path / "mirror.git"
    _fetch(path, "main", tmp_path / "a", mirror)
    for pack in (mirror / "objects" / "pack").iterdir():
        pack.write_bytes(b"garbage")
    (path / "app.py").write_text("v3")
    _git(path, "commit", "-qam", "third")

    commit = _fetch(path, "main", tmp_path / "b", mirror)

    assert commit.message == "third"
    assert (tmp_path / "b" / "app.py").read_text() == "v3"


def test_a_mirror_keeps_no_remote_no_credentials_and_no_hooks(tmp_path):
    path = _origin(tmp_path / "origin", {"app.py": "v1"})
    mirror = tmp_path / "mirror.git"

    _fetch(path, "main", tmp_path / "a", mirror, credentials=Credentials(password="s3cret"))

    config = (mirror / "config").read_text()
    assert "remote" not in config and "s3cret" not in config and str(path) not in config
    assert not (mirror / "hooks").exists()
    refs = _git(mirror, "--git-dir=.", "for-each-ref", "--format=%(refname)")
    assert refs == "refs/deployer/fetched"


def test_a_mirror_past_its_fetch_count_is_removed_after_use(repo, tmp_path, monkeypatch):
    from builds.pipeline import clone

    path, _ = repo
    mirror = tmp_path / "mirror.git"
    monkeypatch.setattr(clone, "MIRROR_MAX_PACKS", 1)
    _fetch(path, "main", tmp_path / "a", mirror)
    assert mirror.is_dir()
    (path / "app.py").write_text("v3")
    _git(path, "commit", "-qam", "third")

    commit = _fetch(path, "main", tmp_path / "b", mirror)

    assert commit.message == "third"
    assert not mirror.exists()  # the next fetch starts it again
    assert _fetch(path, "main", tmp_path / "c", mirror).message == "third"


def test_two_fetches_into_one_mirror_at_once_both_succeed(repo, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    path, first = repo
    mirror = tmp_path / "mirror.git"
    with ThreadPoolExecutor(4) as pool:
        results = list(
            pool.map(
                lambda i: _fetch(path, first if i % 2 else "main", tmp_path / f"w{i}", mirror),
                range(8),
            )
        )

    assert {r.message for r in results} == {"first", "second"}
    for i in range(8):
        assert (tmp_path / f"w{i}" / "app.py").read_text() == ("v1" if i % 2 else "v2")
