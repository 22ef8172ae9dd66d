"""What a repository's own Dockerfile says about the app its image runs, read, never built.

From the final stage: the Python of the image it builds on (`python:3.12-slim` is 3.12,
`ghcr.io/astral-sh/uv:python3.13-bookworm-slim` 3.13, anything else unknown), the commands
it starts with (CMD, ENTRYPOINT, and the lines of a script of the repository they run, found
through the COPY that put it in the image), the port those commands bind, the app they
serve, and whether they run Django's `migrate` when the container starts.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass, field

from builds.pipeline.detection import servers
from builds.pipeline.detection.own_dockerfile import ParsedDockerfile, Stage
from builds.pipeline.detection.tree import Tree
from builds.pipeline.plan import Evidence

DOCKERFILE = "Dockerfile"
_MIGRATE = re.compile(r"(manage\.py['\"]?|django-admin)\s+migrate\b")
_GLOB = re.compile(r"[*?\[]")
MAX_SCRIPT_LINES = 400


@dataclass(frozen=True)
class CommandLine:
    """One command the image runs at start, and where it is written."""

    text: str
    file: str
    line: int


@dataclass
class OwnImage:
    python: str | None = None
    python_evidence: Evidence | None = None
    exposed_port: int | None = None
    bound_port: CommandLine | None = None
    port: int | None = None
    served_app: tuple[str, CommandLine] | None = None
    commands: list[CommandLine] = field(default_factory=list)
    migrates: CommandLine | None = None
    workdir: str = "/"


def read_own_image(tree: Tree, parsed: ParsedDockerfile) -> OwnImage:
    """What the final stage of `parsed` (the repository's Dockerfile) runs."""
    image = OwnImage(exposed_port=parsed.exposed_port)
    image.python, image.python_evidence = _python(parsed)
    stage = parsed.final
    if stage is None:
        return image
    image.workdir = stage.workdir
    image.commands = _commands(tree, stage)
    for command in image.commands:
        port = servers.bound_port(command.text)
        if port and image.bound_port is None:
            image.bound_port = command
            image.port = port
        app = servers.served_app(command.text)
        if app and image.served_app is None:
            image.served_app = (app, command)
        if _MIGRATE.search(command.text) and image.migrates is None:
            image.migrates = command
    return image


def python_of(image: str) -> str | None:
    """The major.minor Python an image reference names in its tag, or None."""
    name = image.split("@", 1)[0]
    repository, _, tag = name.rpartition(":") if ":" in name.rsplit("/", 1)[-1] else (name, "", "")
    if repository.rsplit("/", 1)[-1] == "python":
        match = re.match(r"(\d+)\.(\d+)", tag)
    else:
        match = re.search(r"python-?(\d+)\.(\d+)", tag)
    return f"{match[1]}.{match[2]}" if match and match[1] == "3" else None


def source_of(tree: Tree, stage: Stage, image_path: str) -> str | None:
    """The repository file the stage's COPY/ADD put at `image_path`, or None."""
    image_path = posixpath.normpath(image_path)
    for copy in reversed(stage.copies):
        for written in copy.sources:
            source = _relative(written)
            if source is None:
                continue
            base = copy.destination.rstrip("/") or "/"
            if source == "" or tree.is_dir(source):
                rest = posixpath.relpath(image_path, base) if image_path.startswith(base) else ".."
                candidate = posixpath.normpath(posixpath.join(source, rest))
                if not rest.startswith("..") and tree.is_file(candidate):
                    return candidate
                continue
            named = posixpath.join(base, posixpath.basename(source))
            if image_path == named or (image_path == base and not copy.into_folder):
                return source
    return None


def image_path_of(tree: Tree, stage: Stage, rel: str) -> str | None:
    """Where the stage's COPY/ADD put the repository file `rel` in the image, or None."""
    for copy in reversed(stage.copies):
        for written in copy.sources:
            source = _relative(written)
            if source is None:
                continue
            base = copy.destination.rstrip("/") or "/"
            if source == "" or tree.is_dir(source):
                if source == "" or rel.startswith(source + "/"):
                    return posixpath.join(base, rel[len(source) :].lstrip("/"))
            elif source == rel:
                return posixpath.join(base, posixpath.basename(rel)) if copy.into_folder else base
    return None


def _relative(written: str) -> str | None:
    """A COPY source as a path relative to the build context ("" for all of it)."""
    if _GLOB.search(written) or "$" in written:
        return None
    path = posixpath.normpath("/" + written).lstrip("/")
    return "" if path in ("", ".") else path


def _python(parsed: ParsedDockerfile) -> tuple[str | None, Evidence | None]:
    reference = parsed.final_base
    if reference is None:
        return None, None
    if reference.image is None:
        why = f"{reference.written}: {reference.problem}"
        return None, Evidence(DOCKERFILE, reference.line, f"final stage builds on {why}")
    version = python_of(reference.image)
    if version is None:
        return None, Evidence(
            DOCKERFILE,
            reference.line,
            f"final stage builds on {reference.image}: its Python version is not told by its name",
        )
    return version, Evidence(
        DOCKERFILE,
        reference.line,
        f"FROM {reference.image} (the final stage's image) → Python {version}",
    )


def _commands(tree: Tree, stage: Stage) -> list[CommandLine]:
    """ENTRYPOINT and CMD, each followed by the lines of the repository scripts it runs."""
    found: list[CommandLine] = []
    for command in (stage.entrypoint, stage.cmd):
        if command is None:
            continue
        found.append(CommandLine(command.text, DOCKERFILE, command.line))
        for rel in _scripts(tree, stage, command.words or _split(command.text)):
            text = tree.read_text(rel) or ""
            for number, line in enumerate(text.splitlines()[:MAX_SCRIPT_LINES], start=1):
                if line.strip() and not line.lstrip().startswith("#"):
                    found.append(CommandLine(line.strip(), rel, number))
    return found


def _scripts(tree: Tree, stage: Stage, words) -> list[str]:
    """The repository files (not Python modules) among a command's words."""
    found = []
    for word in words:
        if word.startswith("-") or word.endswith(".py") or not ("/" in word or "." in word):
            continue
        rel = source_of(tree, stage, posixpath.join(stage.workdir, word))
        if rel and rel not in found:
            found.append(rel)
    return found


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()
