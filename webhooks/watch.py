"""Which pushes deploy: the `[skip deploy]` marker and deployer.toml's watch paths.

Pure rules over what a push notification says (`providers.RefUpdate`); the service decides
with them. Watch paths are relative to the app root, the paths a host lists are relative to
the repository root: `app_root` (the project's setting) joins the two.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from fnmatch import fnmatchcase

from builds.pipeline.detection.deployer_toml import FILE as CONFIG_FILE

SKIP_MARKERS = ("[skip deploy]", "[deploy skip]")
GLOB = frozenset("*?[")


def skip_marker(message: str) -> str | None:
    """The skip marker the commit message holds (any case), or None."""
    lowered = message.lower()
    return next((marker for marker in SKIP_MARKERS if marker in lowered), None)


def matches(path: str, pattern: str) -> bool:
    """True when `path` is watched by `pattern` (both relative to the app root).

    A pattern with *, ? or [ is a glob matched against the whole path (`*` also crosses
    folders); any other is that file, or that folder and everything below it.
    """
    if GLOB & set(pattern):
        return fnmatchcase(path, pattern)
    folder = pattern.rstrip("/")
    return path == folder or path.startswith(folder + "/")


def touches(changed: Sequence[str], watch: Sequence[str], app_root: str = "") -> bool:
    """True when a changed path (from the repository root) is under a watch path, or is the
    app's deployer.toml itself (a change of the watch paths must deploy to take effect)."""
    prefix = app_root.strip().strip("/")
    prefix = "" if prefix == "." else prefix
    patterns = [*watch, CONFIG_FILE]
    for path in changed:
        path = path.removeprefix("./")
        if prefix:
            if not path.startswith(prefix + "/"):
                continue  # outside the app: matches no watch path
            path = path[len(prefix) + 1 :]
        path = posixpath.normpath(path)
        if any(matches(path, pattern) for pattern in patterns):
            return True
    return False
