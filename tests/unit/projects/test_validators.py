from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from projects.validators import (
    validate_app_root,
    validate_branch,
    validate_env_key,
    validate_health_check_path,
    validate_repo_url,
    validate_slug,
)


def _message(validator, value) -> str:
    with pytest.raises(ValidationError) as caught:
        validator(value)
    return " ".join(caught.value.messages)


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/acme/shop.git",
        "https://user:token@github.com/acme/shop.git",
        "https://git.example.com:8443/acme/shop",
        "ssh://git@github.com/acme/shop.git",
        "ssh://git@github.com:2222/acme/shop.git",
        "git@github.com:acme/shop.git",
    ],
)
def test_remote_repository_urls_are_accepted(url):
    validate_repo_url(url)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("--upload-pack=touch /tmp/pwned", "cannot begin with '-'"),
        ("-oProxyCommand=touch /tmp/pwned", "cannot begin with '-'"),
        ("ext::sh -c touch% /tmp/pwned", "remote helpers"),
        ("fd::17", "remote helpers"),
        ("http://github.com/acme/shop.git", "'http://' scheme is not allowed"),
        ("ftp://example.com/shop.git", "'ftp://' scheme is not allowed"),
        ("https://-oProxyCommand=x/acme/shop", "no valid host"),
        ("ssh://-oProxyCommand=touch%20x/repo", "no valid host"),
        ("git@-oProxyCommand=x:repo", "no valid host"),
        ("git@github.com:-repo", "cannot begin with '-'"),
        ("https://github.com/acme shop.git", "spaces"),
        ("https://github.com/acme/shop.git\n--upload-pack=x", "control characters"),
        ("ssh://git:secret@github.com/acme/shop.git", "remove the password"),
        ("https://github.com", "needs a path"),
        ("github.com/acme/shop", "Unsupported repository URL"),
    ],
)
def test_hostile_or_malformed_repository_urls_are_refused_with_a_reason(url, reason):
    assert reason in _message(validate_repo_url, url)


@pytest.mark.parametrize("url", ["file:///etc", "/tmp/repo", "file:///srv/git/shop.git", "~/repo"])
def test_local_repositories_are_refused_unless_allowed(settings, url):
    settings.DEPLOYER_ALLOW_LOCAL_REPOS = False

    assert "Local repositories are not allowed" in _message(validate_repo_url, url)


def test_local_repositories_are_accepted_when_allowed(settings):
    settings.DEPLOYER_ALLOW_LOCAL_REPOS = True

    validate_repo_url("/tmp/repo")
    validate_repo_url("file:///srv/git/shop.git")


def test_relative_local_paths_are_refused_even_when_local_repos_are_allowed(settings):
    settings.DEPLOYER_ALLOW_LOCAL_REPOS = True

    assert "absolute path" in _message(validate_repo_url, "./repo")


@pytest.mark.parametrize(
    "branch", ["main", "feature/login", "release-1.2", "v1.0_rc", "a.b", "user@host", "x@y{"]
)
def test_ordinary_branch_names_are_accepted(branch):
    validate_branch(branch)


@pytest.mark.parametrize(
    ("branch", "reason"),
    [
        ("-x", "cannot begin with '-'"),
        ("--upload-pack=evil", "cannot begin with '-'"),
        ("a..b", "'..'"),
        ("foo.lock", "'.lock'"),
        ("feature/foo.lock/bar", "'.lock'"),
        ("a b", "spaces"),
        ("a\tb", "control characters"),
        ("@{1}", "'@{'"),
        ("main@{upstream}", "'@{'"),
        ("@", "cannot be '@'"),
        ("a~1", "~"),
        ("a^", "^"),
        ("a:b", ":"),
        ("a?", "?"),
        ("a*", "*"),
        ("a[b", "["),
        ("a\\b", "\\"),
        ("/main", "'/'"),
        ("main/", "'/'"),
        ("a//b", "'//'"),
        ("main.", "end with '.'"),
        (".hidden", "begin with '.'"),
        ("feature/.hidden", "begin with '.'"),
        ("", "empty"),
    ],
)
def test_branch_names_git_would_refuse_are_refused_with_a_reason(branch, reason):
    assert reason in _message(validate_branch, branch)


@pytest.mark.parametrize("slug", ["shop", "a", "my-app-2", "x" * 63])
def test_dns_label_names_are_accepted(slug):
    validate_slug(slug)


@pytest.mark.parametrize("slug", ["Shop", "-shop", "shop-", "my_app", "a.b", "x" * 64, "", "new"])
def test_names_that_are_not_dns_labels_or_reserved_are_refused(slug):
    with pytest.raises(ValidationError):
        validate_slug(slug)


@pytest.mark.parametrize("root", ["", "services/web", "./web", "web/", "apps/my site"])
def test_relative_app_roots_are_accepted(root):
    validate_app_root(root)


@pytest.mark.parametrize(
    ("root", "reason"),
    [
        ("/srv/app", "relative"),
        ("../other", "'..'"),
        ("web/../../etc", "'..'"),
        ("~/x", "relative"),
    ],
)
def test_app_roots_outside_the_repository_are_refused(root, reason):
    assert reason in _message(validate_app_root, root)


def test_health_check_path_must_begin_with_a_slash():
    validate_health_check_path("")
    validate_health_check_path("/healthz")

    assert "must begin with '/'" in _message(validate_health_check_path, "healthz")


@pytest.mark.parametrize("key", ["DEBUG", "_PRIVATE", "a1", "DATABASE_URL"])
def test_posix_variable_names_are_accepted(key):
    validate_env_key(key)


@pytest.mark.parametrize("key", ["1ABC", "MY-VAR", "A B", "", "É", "A=B"])
def test_non_posix_variable_names_are_refused(key):
    assert "not a valid variable name" in _message(validate_env_key, key)


def test_port_is_reserved_for_deployer():
    assert "set by Deployer" in _message(validate_env_key, "PORT")
