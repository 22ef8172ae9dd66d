"""Rules for what a user may type into a project: each raises ValidationError with a readable reason.

Repository URLs and branch names end up as arguments to `git`, so anything that git or ssh
could read as an option or as an exotic transport is refused here, at the boundary.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

DNS_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RESERVED_ENV_KEYS = frozenset({"PORT"})
RESERVED_SLUGS = frozenset({"new"})  # /projects/new/ is the creation page
# scp-like syntax: user@host:path (no scheme, no "://").
SCP_LIKE = re.compile(r"^(?P<user>[A-Za-z0-9._-]+)@(?P<host>[^:/\s]+):(?P<path>.+)$")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOST = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*\.?$|^\[[0-9A-Fa-f:.]+\]$")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]")
REPO_URL_HELP = "Use https://host/path, ssh://host/path or git@host:path."


def validate_slug(value: str) -> None:
    """A DNS label: it becomes `<slug>.<domain>` and part of a Docker image tag."""
    if not DNS_LABEL.match(value or ""):
        raise ValidationError(
            "Use 1 to 63 lowercase letters, digits and hyphens, starting and ending with a "
            "letter or digit (it becomes part of a hostname and an image tag).",
            code="invalid_slug",
        )
    if value in RESERVED_SLUGS:
        raise ValidationError(f"'{value}' is reserved; choose another name.", code="reserved")


def validate_repo_url(value: str) -> None:
    """An https://, ssh:// or git@host:path URL; local paths and file:// only when allowed."""
    if not value:
        raise ValidationError("Enter the repository URL.", code="required")
    if value.startswith("-"):
        raise ValidationError(
            "A repository URL cannot begin with '-' (git would read it as an option).",
            code="option_injection",
        )
    if "::" in value.split("/", 1)[0]:
        raise ValidationError(
            f"Git remote helpers such as 'ext::' are not allowed. {REPO_URL_HELP}",
            code="transport",
        )
    if CONTROL_OR_SPACE.search(value):
        raise ValidationError(
            "A repository URL cannot contain spaces or control characters.", code="invalid"
        )
    if _is_local(value):
        if not settings.DEPLOYER_ALLOW_LOCAL_REPOS:
            raise ValidationError(
                f"Local repositories are not allowed on this server. {REPO_URL_HELP}",
                code="local",
            )
        _check_local(value)
        return
    if "://" in value:
        _check_url(value)
        return
    match = SCP_LIKE.match(value)
    if not match:
        raise ValidationError(f"Unsupported repository URL. {REPO_URL_HELP}", code="invalid")
    _check_host(match["host"])
    if match["path"].startswith("-"):
        raise ValidationError("The repository path cannot begin with '-'.", code="option_injection")


def _is_local(value: str) -> bool:
    return value.startswith(("file://", "/", "./", "../", "~"))


def _check_local(value: str) -> None:
    path = value.removeprefix("file://")
    if not path.startswith("/"):
        raise ValidationError(
            "A local repository must be an absolute path or a file:///absolute/path URL.",
            code="local",
        )


def _check_url(value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme == "http" and settings.DEPLOYER_ALLOW_LOCAL_REPOS and _is_loopback(parts):
        pass  # a git server on this machine (development, tests): a local repository
    elif parts.scheme not in ("https", "ssh"):
        raise ValidationError(
            f"The '{parts.scheme}://' scheme is not allowed. {REPO_URL_HELP}", code="scheme"
        )
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as exc:
        raise ValidationError("The port in the repository URL is not valid.") from exc
    _check_host(parts.hostname or "")
    if parts.scheme == "ssh" and parts.password is not None:
        raise ValidationError(
            "ssh:// URLs authenticate with a key: remove the password from the URL.",
            code="ssh_password",
        )
    if parts.path in ("", "/"):
        raise ValidationError("The repository URL needs a path after the host.", code="invalid")
    if parts.query or parts.fragment:
        raise ValidationError("Remove the query string or fragment from the URL.", code="invalid")


def _is_loopback(parts) -> bool:
    return (parts.hostname or "") in ("127.0.0.1", "localhost", "::1")


def _check_host(host: str) -> None:
    if not host or host.startswith("-") or not HOST.match(host):
        raise ValidationError("The repository URL has no valid host name.", code="host")


def validate_branch(value: str) -> None:
    """Git's own `check-ref-format --branch` rules, plus no leading '-' (option injection)."""
    problem = _branch_problem(value)
    if problem:
        raise ValidationError(f"Invalid branch name: {problem}.", code="invalid_branch")


def _branch_problem(value: str) -> str | None:
    if not value:
        return "it is empty"
    if value.startswith("-"):
        return "it cannot begin with '-'"
    if value == "@":
        return "it cannot be '@'"
    if CONTROL_OR_SPACE.search(value):
        return "it cannot contain spaces or control characters"
    bad = sorted(set(value) & set("~^:?*[\\"))
    if bad:
        return f"it cannot contain {' '.join(bad)}"
    if ".." in value:
        return "it cannot contain '..'"
    if "@{" in value:
        return "it cannot contain '@{'"
    if value.startswith("/") or value.endswith("/") or "//" in value:
        return "it cannot begin or end with '/' or contain '//'"
    if value.endswith("."):
        return "it cannot end with '.'"
    for component in value.split("/"):
        if component.startswith("."):
            return "no part of it can begin with '.'"
        if component.endswith(".lock"):
            return "no part of it can end with '.lock'"
    return None


def validate_app_root(value: str) -> None:
    """A relative directory inside the repository; never absolute and never climbing out."""
    if not value:
        return
    if CONTROL.search(value) or "\\" in value:
        raise ValidationError(
            "The app root cannot contain backslashes or control characters.", code="invalid"
        )
    path = PurePosixPath(value)
    if path.is_absolute() or value.startswith("~"):
        raise ValidationError(
            "The app root is a path relative to the repository root, e.g. 'services/web'.",
            code="absolute",
        )
    if ".." in path.parts:
        raise ValidationError("The app root cannot contain '..'.", code="parent")


def validate_health_check_path(value: str) -> None:
    """Empty (detection decides) or an absolute URL path such as /healthz."""
    if not value:
        return
    if not value.startswith("/") or value.startswith("//"):
        raise ValidationError("The health check path must begin with '/', e.g. /healthz.")
    if CONTROL_OR_SPACE.search(value):
        raise ValidationError("The health check path cannot contain spaces or control characters.")


def validate_env_key(value: str) -> None:
    """A POSIX variable name that Deployer does not set itself."""
    if not ENV_KEY.match(value or ""):
        raise ValidationError(
            f"'{value}' is not a valid variable name: use letters, digits and '_', "
            "not starting with a digit.",
            code="invalid_key",
        )
    if value in RESERVED_ENV_KEYS:
        raise ValidationError(f"{value} is set by Deployer and cannot be overridden.", "reserved")


def validate_env_value(value: str) -> None:
    """Anything a process environment can carry: every character except NUL."""
    if "\x00" in value:
        raise ValidationError("A value cannot contain a NUL character.", code="nul")


ENTRYPOINT = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*(\(\))?$")
PYTHON_VERSION = re.compile(r"^3\.\d{1,2}$")
DEBIAN_PACKAGE = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")


def validate_entrypoint(value: str) -> None:
    if value and not ENTRYPOINT.match(value):
        raise ValidationError(
            "Write the entry point as module:attribute, e.g. mysite.wsgi:application or app:create_app()."
        )


def validate_python_version(value: str) -> None:
    if value and not PYTHON_VERSION.match(value):
        raise ValidationError("Write a Python version as major.minor, e.g. 3.13.")


def validate_system_packages(value: str) -> None:
    bad = [name for name in value.split() if not DEBIAN_PACKAGE.match(name)]
    if bad:
        raise ValidationError(f"Not a Debian package name: {', '.join(bad)}.")


MIN_MEMORY_LIMIT_MB = 64


def validate_memory_limit_mb(value: int) -> None:
    """At least 64 MB, at most what the operator allows (DEPLOYER_APP_MEMORY_MAX_MB)."""
    if value is None:
        return
    if value < MIN_MEMORY_LIMIT_MB:
        raise ValidationError(
            f"The memory limit must be at least {MIN_MEMORY_LIMIT_MB} MB.", code="min_value"
        )
    maximum = settings.DEPLOYER_APP_MEMORY_MAX_MB
    if value > maximum:
        raise ValidationError(
            f"The memory limit can be at most {maximum} MB on this Deployer "
            "(the operator's setting DEPLOYER_APP_MEMORY_MAX_MB).",
            code="max_value",
        )


def validate_web_replicas(value: int) -> None:
    """At least 1, at most what the operator allows (DEPLOYER_MAX_REPLICAS)."""
    if value is None:
        return
    if value < 1:
        raise ValidationError("A project runs at least 1 web replica.", code="min_value")
    maximum = settings.DEPLOYER_MAX_REPLICAS
    if value > maximum:
        raise ValidationError(
            f"A project can run at most {maximum} web replicas on this Deployer "
            "(the operator's setting DEPLOYER_MAX_REPLICAS).",
            code="max_value",
        )
