"""When Django's `migrate` may be skipped: a keyed fingerprint of everything it depends on.

`migrate` applies the migrations the installed apps have and the database lacks. With the same
migration files, the same dependencies (which apps, and their migrations, are installed), the
same settings (INSTALLED_APPS, DATABASES), the same base image and the same variables, a
second run after one that succeeded applies nothing. The files are read, never run.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from builds.pipeline.detection.django import RELEASE
from builds.pipeline.detection.django_settings import read_settings
from builds.pipeline.detection.tree import Tree
from builds.pipeline.plan import Plan

VCS_DIRS = frozenset({".git", ".hg", ".svn"})
# Past this many entries the walk gives up: no digest, so the release runs.
MAX_ENTRIES = 200_000


def may_skip(plan: Plan) -> bool:
    """True only for the release command Deployer itself chose for Django; a Procfile's runs always."""
    return (
        plan.kind == "inferred" and plan.framework == "django" and plan.release_command == RELEASE
    )


def migrations_digest(
    root: Path, *, dependency_files: Iterable[str] = (), settings_module: str | None = None
) -> str | None:
    """SHA-256 of the relative path and content of the files `migrate` depends on under `root`.

    That is every `.py` file below a `migrations/` folder, the dependency files and the
    settings module's files, in path order. Symlinks are followed only inside `root`; one
    that leaves it counts by its link text. None when the tree cannot be read in full (too
    large, or a folder or file that cannot be opened): then the release runs.
    """
    real_root = os.path.realpath(root)
    files = _migration_files(real_root)
    if files is None:
        return None
    tree = Tree(Path(real_root))
    settings = read_settings(tree, settings_module) if settings_module else None
    extra = {*dependency_files, *(settings.files if settings else ())}
    files.update((rel, _inside(real_root, os.path.join(real_root, rel))) for rel in extra)
    digest = hashlib.sha256()
    try:
        for rel in sorted(files):
            entry = [rel, _file_digest(files[rel], real_root, rel)]
            digest.update(json.dumps(entry).encode() + b"\n")
    except OSError:
        return None  # an unreadable file might be a migration that changed
    return digest.hexdigest()


def release_fingerprint(
    key: str, *, command: str, base_image: str, migrations: str, environment: Mapping[str, str]
) -> str:
    """HMAC-SHA256, keyed with `key`, of the command, base image, migrations digest and variables.

    The variables are secrets: only this keyed hash of them is ever stored.
    """
    message = json.dumps(
        [command, base_image, migrations, sorted(environment.items())], separators=(",", ":")
    )
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()


def _migration_files(real_root: str) -> dict[str, str | None] | None:
    """{relative path: real path, or None for a symlink leaving the root} of migration files."""
    found: dict[str, str | None] = {}
    seen_dirs = {real_root}
    stack = [("", real_root)]
    entries = 0
    while stack:
        rel_dir, real_dir = stack.pop()
        try:
            scanned = sorted(os.scandir(real_dir), key=lambda entry: entry.name)
        except OSError:
            return None  # an unreadable folder might hold migrations
        for entry in scanned:
            entries += 1
            if entries > MAX_ENTRIES:
                return None
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            # `real_dir` is a real path: only a symlink needs resolving.
            real = _inside(real_root, entry.path) if entry.is_symlink() else entry.path
            is_migration = entry.name.endswith(".py") and "migrations" in rel.split("/")[:-1]
            if real is None:
                if is_migration:
                    found[rel] = None
            elif os.path.isdir(real):
                if entry.name not in VCS_DIRS and real not in seen_dirs:
                    seen_dirs.add(real)
                    stack.append((rel, real))
            elif is_migration:
                found[rel] = real
    return found


def _inside(real_root: str, path: str) -> str | None:
    """The real path of `path` when it stays inside the root, else None."""
    real = os.path.realpath(path)
    return real if real == real_root or real.startswith(real_root + os.sep) else None


def _file_digest(real: str | None, real_root: str, rel: str) -> str:
    if real is None:
        try:
            return "outside:" + os.readlink(os.path.join(real_root, rel))
        except OSError:
            return "outside"
    if not os.path.isfile(real):  # missing, a folder, a FIFO that would block
        return "absent"
    with open(real, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
