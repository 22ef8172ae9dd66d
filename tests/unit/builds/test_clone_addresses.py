"""A repository URL is a user-given URL: its host is checked before git runs, and pinned."""

from __future__ import annotations

import pytest

from builds.pipeline.clone import checked_addresses, clone_commit, git_context
from builds.pipeline.errors import StageError
from tests.unit.deployer.servers import PUBLIC, HitServer, fake_dns


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:2019/stop.git",
        "https://localhost/org/app.git",
        "https://169.254.169.254/latest/meta-data.git",
        "https://10.0.0.5/org/app.git",
        "ssh://git@192.168.1.10/org/app.git",
        "git@[::1]:org/app.git",
    ],
)
def test_repository_on_an_internal_address_is_refused_before_git_runs(url):
    with pytest.raises(StageError) as refused:
        checked_addresses(url, allow_local=False, log=lambda line: None)

    assert str(refused.value).startswith("The repository URL was refused:")


def test_clone_of_a_loopback_repository_never_reaches_it(tmp_path):
    with HitServer() as server:
        url = f"http://127.0.0.1:{server.port}/org/app.git"
        with pytest.raises(StageError, match="refused"):
            clone_commit(url, "main", tmp_path / "src", log=lambda line: None, allow_file=False)

    assert server.hits == []
    assert not any((tmp_path / "src").iterdir())


def test_local_repositories_are_cloned_with_a_warning_when_the_operator_allows_them():
    lines: list[str] = []

    addresses = checked_addresses("http://127.0.0.1:9/app.git", allow_local=True, log=lines.append)

    assert addresses == ()
    assert lines and lines[0].startswith("warning ") and "DEPLOYER_ALLOW_LOCAL_REPOS" in lines[0]


def test_paths_and_file_urls_are_not_network_urls():
    assert checked_addresses("file:///srv/git/app.git", allow_local=False, log=print) == ()
    assert checked_addresses("/srv/git/app.git", allow_local=False, log=print) == ()


def test_https_clone_connects_only_to_the_address_that_was_checked(monkeypatch, tmp_path):
    fake_dns(monkeypatch, {"git.example.com": [[PUBLIC]]})
    url = "https://git.example.com/org/app.git"

    addresses = checked_addresses(url, allow_local=False, log=print)
    context = git_context(url, home=tmp_path, pinned_addresses=addresses)

    assert addresses == (PUBLIC,)
    assert f"http.curloptResolve=git.example.com:443:{PUBLIC}" in context.options


def test_a_local_repository_the_operator_allows_is_not_pinned_to_nothing(tmp_path):
    context = git_context("http://127.0.0.1:9/app.git", home=tmp_path, pinned_addresses=())

    assert not any(option.startswith("http.curloptResolve") for option in context.options)
