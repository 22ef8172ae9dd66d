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
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path

from builds.pipeline.detection.django import RELEASE
from builds.pipeline.detection.django_settings import read_settings
from builds.pipeline.detection.tree import RefusedPath, Tree
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
    settings module's files, in path order, all read through the guarded reader: a link is
    followed only to a regular file inside `root` (one that leaves it counts by its link
    text), folders behind links are not entered, FIFOs and devices are never opened. None
    when the tree cannot be read in full (too large, or a folder that cannot be listed):
    then the release runs.
    """
    tree = Tree(Path(root))
    try:
        files = [
            rel
            for rel, st in tree.entries(prune=_is_vcs, max_entries=MAX_ENTRIES)
            if _is_migration(rel) and not stat.S_ISDIR(st.st_mode)
        ]
    except RefusedPath:
        return None  # an unreadable folder might hold migrations
    settings = read_settings(tree, settings_module) if settings_module else None
    extra = {*dependency_files, *(settings.files if settings else ())}
    digest = hashlib.sha256()
    try:
        for rel in sorted({*files, *extra}):
            entry = [rel, _file_digest(tree, rel)]
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


def _is_vcs(rel: str) -> bool:
    return rel.rsplit("/", 1)[-1] in VCS_DIRS


def _is_migration(rel: str) -> bool:
    return rel.endswith(".py") and "migrations" in rel.split("/")[:-1]


def _file_digest(tree: Tree, rel: str) -> str:
    why = tree.refusal(rel)
    if why and "outside the repository" in why:
        try:
            return "outside:" + tree.link_text(rel)
        except OSError:
            return "outside"
    if why or not tree.is_file(rel):  # missing, a folder, a FIFO that would block
        return "absent"
    try:
        with tree.open_regular(rel) as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except RefusedPath:
        return "absent"
