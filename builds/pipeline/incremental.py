"""A dependency change that only adds requirements installs only those (issue 22, part 2).

The classic builder rebuilds the install layer from scratch whenever the requirements file
changes: adding one package to Django's requirements unpacked, compiled and committed
Django again (6-8 s here). When the project's last build that went live installed a
requirements file of which the new one only adds lines, the new build starts `FROM` that
build's dependency layer (an image the engine keeps: the step after the install) and runs
the same install step on it: uv finds every earlier requirement satisfied and installs the
new ones, and `compileall` compiles only their files. As Heroku's Python buildpack installs
over its cached site-packages.

Only when nothing else can differ: the build's setup steps (base image, Python, labels,
command, build arguments) are the same text on the same base image (`prefix_digest`), the
install is one `uv pip install -r <file>` of plain requirement lines (no options, hashes,
source installs or build packages), on the package cache, and the chain of such layers is
shorter than `MAX_DEPTH`. A requirement removed or changed, or any other change, installs
everything again from the setup steps: a removed package must not stay installed, and an
upgraded one must not leave its old files in a lower layer of the image.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

# Layers stacked on layers: after this many, a build installs everything again (the image
# guard's and the engine's layer counts stay small, and an unpinned requirement is resolved
# afresh now and then).
MAX_DEPTH = 5
DEPENDENCIES_COMMENT = "# Dependencies first"


@dataclass(frozen=True)
class Base:
    """What a build leaves for the next: its dependency layer and what the layer holds."""

    layer: str
    digest: str
    requirements: tuple[str, ...]
    depth: int = 0

    def to_dict(self) -> dict:
        return {
            "layer": self.layer,
            "digest": self.digest,
            "requirements": list(self.requirements),
            "depth": self.depth,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Base | None:
        try:
            return cls(
                str(data["layer"]),
                str(data["digest"]),
                tuple(str(line) for line in data["requirements"]),
                int(data.get("depth", 0)),
            )
        except (KeyError, TypeError, ValueError):
            return None


def requirement_lines(text: str) -> tuple[str, ...] | None:
    """The requirement lines of a requirements file, comments and blanks left out; None when
    it has an option line (`-r`, `--index-url`, `--hash`, ...), which this does not follow."""
    lines = []
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-") or "--" in line or line.endswith("\\"):
            return None
        lines.append(line)
    return tuple(lines)


def split(text: str) -> tuple[list[str], list[str], list[str]] | None:
    """A generated Dockerfile as (its header comments, its setup steps, the rest from the
    build arguments the install uses); None when it has no dependency step."""
    lines = text.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.startswith(DEPENDENCIES_COMMENT))
    except StopIteration:
        return None
    while start > 0 and lines[start - 1].startswith("ARG "):
        start -= 1
    first_from = next(i for i, line in enumerate(lines) if line.startswith("FROM "))
    return lines[:first_from], lines[first_from:start], lines[start:]


def prefix_digest(text: str, base_image_id: str) -> str:
    """The digest of a generated Dockerfile's setup steps on this base image ("" when it
    has no dependency step)."""
    parts = split(text)
    if parts is None:
        return ""
    setup = "\n".join(parts[1])
    return hashlib.sha256(f"{base_image_id}\n{setup}".encode()).hexdigest()


def choose(previous: Base | None, digest: str, requirements: tuple[str, ...] | None) -> Base | None:
    """`previous` when a build with these setup steps and requirements may start from its
    layer: same digest, every earlier requirement kept (new ones or none added), chain short
    enough; else None."""
    if previous is None or requirements is None or not digest or previous.digest != digest:
        return None
    if previous.depth + 1 >= MAX_DEPTH:
        return None
    before, after = set(previous.requirements), set(requirements)
    return previous if before <= after else None


def on_top(text: str, base: Base, build_number: int) -> str:
    """`text` with its setup steps replaced by the layer of `base` (from build #n)."""
    parts = split(text)
    if parts is None:
        raise ValueError("not a generated Dockerfile with a dependency step")
    header, _setup, rest = parts
    return "\n".join(
        [
            *header,
            f"# On build #{build_number}'s dependency layer: only the requirements added since",
            "# are installed (builds/pipeline/incremental.py).",
            f"FROM {base.layer}",
            *rest,
        ]
    ) + ("\n" if text.endswith("\n") else "")
