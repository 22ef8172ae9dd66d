"""Each project's git mirror, on the worker host that builds it.

A build fetches the pushed commit into its project's bare mirror and checks it out from
there (builds/pipeline/clone.py), so a push sends only what it adds instead of the whole
tree again. A mirror is a cache: one per project and repository URL (a new URL starts a
new one, nothing is shared between projects), under this installation's folder of
DEPLOYER_GIT_MIRROR_DIR, removed with its project, by housekeeping when its project or
URL is gone or it was not used for DEPLOYER_GIT_MIRROR_MAX_DAYS, and started again
whenever it fails. Every worker host keeps its own; none is ever needed.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import time
from pathlib import Path

from django.conf import settings

from builds.installation import installation_id
from builds.pipeline.clone import mirror_lock_file, public_url


def root() -> Path:
    return Path(settings.DEPLOYER_GIT_MIRROR_DIR) / installation_id()


def path_for(project) -> Path | None:
    """Where `project`'s mirror lives, or None when mirrors are off (DEPLOYER_GIT_MIRRORS)."""
    if not settings.DEPLOYER_GIT_MIRRORS:
        return None
    return root() / _name(project.pk, project.repo_url)


def remove(project_id: int) -> None:
    """Remove the project's mirrors on this host (a fetch in progress keeps its own)."""
    for mirror in root().glob(f"{project_id}-*.git"):
        _remove_unless_busy(mirror)


def prune(wanted: dict[int, str], *, max_age_days: float) -> list[str]:
    """Remove the mirrors of this installation on this host that no project in `wanted`
    (project id to repository URL) names, and those unused for `max_age_days`; returns
    their names. A mirror being fetched into is left for the next round."""
    keep = {_name(pk, url) for pk, url in wanted.items()}
    cutoff = time.time() - max_age_days * 86400
    removed = []
    for mirror in sorted(root().glob("*.git")):
        lock = mirror_lock_file(mirror)
        used = lock.stat().st_mtime if lock.exists() else mirror.stat().st_mtime
        if (mirror.name not in keep or used < cutoff) and _remove_unless_busy(mirror):
            removed.append(mirror.name)
    # A lock file stays while its mirror goes (a fetch may be opening it), until it is old.
    for lock in root().glob("*.git.lock"):
        if not lock.with_suffix("").exists() and lock.stat().st_mtime < cutoff:
            lock.unlink(missing_ok=True)
    return removed


def _name(project_id: int, url: str) -> str:
    # The URL without credentials: a new token for the same repository keeps the mirror.
    return f"{project_id}-{hashlib.sha256(public_url(url).encode()).hexdigest()[:16]}.git"


def _remove_unless_busy(mirror: Path) -> bool:
    with mirror_lock_file(mirror).open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        shutil.rmtree(mirror, ignore_errors=True)
    return True
