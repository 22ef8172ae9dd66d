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
source installs or build packages), or a hash-checked install of uv.lock's export (or of
Deployer's export of a Poetry 2 lock) whose pinned packages (`uv_lock_pins`, `export_pins`)
keep every earlier one at its version, on the package
cache, and the chain of such layers is shorter than `MAX_DEPTH`. A requirement removed or changed, or any other change, installs
everything again from the setup steps: a removed package must not stay installed, and an
upgraded one must not leave its old files in a lower layer of the image.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass

# Layers stacked on layers: after this many, a build installs everything again (the image
# guard's and the engine's layer counts stay small, and an unpinned requirement is resolved
# afresh now and then).
MAX_DEPTH = 5
DEPENDENCIES_COMMENT = "# Dependencies first"


@dataclass(frozen=True)
class Base:
    """What a build leaves for the next: its dependency layer, the layer it was itself built
    on ("": the setup steps) and what the layer holds."""

    layer: str
    digest: str
    requirements: tuple[str, ...]
    depth: int = 0
    on: str = ""

    def to_dict(self) -> dict:
        return {
            "layer": self.layer,
            "digest": self.digest,
            "requirements": list(self.requirements),
            "depth": self.depth,
            "on": self.on,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Base | None:
        try:
            return cls(
                str(data["layer"]),
                str(data["digest"]),
                tuple(str(line) for line in data["requirements"]),
                int(data.get("depth", 0)),
                str(data.get("on", "")),
            )
        except (KeyError, TypeError, ValueError):
            return None


@dataclass(frozen=True)
class Start:
    """Where a build's dependency step starts: `layer` ("": the setup steps), how many such
    layers lie below it (`depth`) and how many requirements it adds to that layer's."""

    layer: str = ""
    depth: int = 0
    added: int = 0


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


def uv_lock_pins(text: str) -> tuple[str, ...] | None:
    """The packages a uv.lock pins, as sorted `name==version` lines (the project and its
    workspace members aside: they are not installed); None when it cannot be read.

    Every registry package counts, development ones too: adding one is a superset (its
    install step, `uv export --no-dev`, then adds nothing), removing one installs again."""
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError):
        return None
    packages = data.get("package", [])
    if not isinstance(packages, list):
        return None
    pins = set()
    for package in packages:
        if not isinstance(package, dict):
            return None
        source = package.get("source", {})
        if isinstance(source, dict) and ("editable" in source or "virtual" in source):
            continue
        name, version = package.get("name"), package.get("version")
        if not isinstance(name, str) or not isinstance(version, str):
            return None
        pins.add(f"{name}=={version}")
    return tuple(sorted(pins))


def export_pins(exported: str) -> tuple[str, ...]:
    """The requirements of a hash-checked export (`name==version ; markers` lines, their
    `--hash` continuation lines left out), sorted."""
    return tuple(
        sorted(line.rstrip(" \\") for line in exported.splitlines() if line and line[0] != " ")
    )


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


def prefix_digest(text: str, base_image_id: str, kind: str = "") -> str:
    """The digest of a generated Dockerfile's setup steps on this base image and of `kind`,
    what the requirements were read from (a requirements file, uv.lock), so the two are never
    compared with each other ("" when it has no dependency step)."""
    parts = split(text)
    if parts is None:
        return ""
    setup = "\n".join(parts[1])
    return hashlib.sha256(f"{base_image_id}\n{kind}\n{setup}".encode()).hexdigest()


def start(previous: Base | None, digest: str, requirements: tuple[str, ...] | None) -> Start:
    """Where a build with these setup steps and requirements starts, given the dependency
    layer `previous` of the project's last live build.

    Requirements that add to `previous`'s: on its layer. The same requirements: where
    `previous` itself started, so the Dockerfile is the one `previous` built and every step
    comes from the engine's cache (a code-only change). Anything else: the setup steps."""
    if previous is None or requirements is None or not digest or previous.digest != digest:
        return Start()
    before, after = set(previous.requirements), set(requirements)
    if before == after:
        return Start(previous.on, previous.depth if previous.on else 0)
    if before < after and previous.depth + 1 < MAX_DEPTH:
        return Start(previous.layer, previous.depth + 1, len(after - before))
    return Start()


def on_top(text: str, layer: str) -> str:
    """`text` with its setup steps replaced by `layer`."""
    parts = split(text)
    if parts is None:
        raise ValueError("not a generated Dockerfile with a dependency step")
    header, _setup, rest = parts
    return "\n".join(
        [
            *header,
            "# On an earlier build's dependency layer: only the requirements added since are",
            "# installed (builds/pipeline/incremental.py).",
            f"FROM {layer}",
            *rest,
        ]
    ) + ("\n" if text.endswith("\n") else "")
