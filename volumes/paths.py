"""Where a project may mount a volume in its app's containers, and what a volume may be
called. Pure: strings in, a clean string or ValidationError out.

A volume is mounted strictly below the app's folder (/app/media, never /app itself, which
would hide the app's code) or at or below /data. Anything else (a relative path, `..`,
system folders such as /, /etc, /usr, /proc or the virtualenv in /opt/venv) is refused:
a mount there would hide or replace what the image needs to run.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

# (root, whether the root itself may be mounted)
ROOTS = (("/app", False), ("/data", True))
MAX_PATH = 200
_SAFE = re.compile(r"^[A-Za-z0-9._/-]+$")
NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


def clean_path(path: str) -> str:
    """`path` without a trailing slash; raises ValidationError saying why it is refused."""
    path = (path or "").strip()
    if not path:
        raise ValidationError("Give the path where the app sees the volume, e.g. /app/media.")
    if len(path) > MAX_PATH:
        raise ValidationError(f"The path is longer than {MAX_PATH} characters.")
    if not path.startswith("/"):
        raise ValidationError(f"{path!r} is not absolute: give the full path, e.g. /app/{path}.")
    if not _SAFE.match(path):
        raise ValidationError(
            f"{path!r} has characters other than letters, digits, '.', '_', '-' and '/'."
        )
    if len(path) > 1:
        path = path.rstrip("/")
    parts = path.split("/")[1:]
    if any(part in ("", ".", "..") for part in parts) and path != "/":
        raise ValidationError(f"{path!r} has an empty, '.' or '..' part: give a plain path.")
    for root, itself in ROOTS:
        if path == root:
            if itself:
                return path
            raise ValidationError(
                f"{root} is the app's own folder: a volume there would hide its code. Mount "
                f"it below, e.g. {root}/media."
            )
        if path.startswith(root + "/"):
            return path
    allowed = " or ".join(f"{root}/…" if not itself else f"{root}" for root, itself in ROOTS)
    raise ValidationError(
        f"{path} is outside the app: a volume is mounted below {allowed} (system folders "
        "such as /etc, /usr or /opt/venv are the image's)."
    )


def overlaps(path: str, other: str) -> bool:
    """Whether one path is the other or inside it (two mounts that would hide each other)."""
    return path == other or path.startswith(other + "/") or other.startswith(path + "/")


def clean_name(name: str) -> str:
    name = (name or "").strip()
    if not NAME.match(name):
        raise ValidationError(
            "A volume's name is 1 to 40 lowercase letters, digits and hyphens, starting with "
            "a letter or digit (e.g. media)."
        )
    return name
