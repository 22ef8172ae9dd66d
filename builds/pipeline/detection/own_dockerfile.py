"""A repository's own Dockerfile, read with dockerfile-parse: its stages, the images it names,
the port it EXPOSEs, and what its final stage runs: user, working directory, CMD, ENTRYPOINT
and the files it COPYs from the build context.

dockerfile-parse splits the file into instructions (continuation lines, comments, the
`# escape=` directive, instructions in any case); this module gives them Docker's meaning.
Every place an image can be named is collected as an `ImageReference`: each `FROM`,
`COPY --from=`, `RUN --mount=...,from=...`, the same inside `ONBUILD`, and the
`# syntax=` directive (a BuildKit frontend is an image too). `$VAR`, `${VAR}`,
`${VAR:-word}`, `${VAR-word}`, `${VAR:+word}` and `${VAR+word}` are resolved the way the
engine does, with the build's actual arguments over the `ARG` defaults: ARGs before the
first FROM for FROM lines, the stage's ARGs and ENVs for the rest. A reference that uses
an undeclared variable or another `${...}` form keeps `image=None` and says why.

Heredocs: dockerfile-parse does not know them and reads their bodies as instructions.
They are left so on purpose: the classic builder reads those lines as instructions too,
so an image named in a heredoc body is checked like any other.
"""

from __future__ import annotations

import csv
import io
import json
import posixpath
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from dockerfile_parse import DockerfileParser

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BRACED = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])(.*))?", re.DOTALL)
_DIRECTIVE = re.compile(r"#\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(.*?)\s*")
_PORT = re.compile(r"(\d+)")
_HEX = re.compile(r"[0-9a-f]+")


class Unresolvable(Exception):
    """A variable in a reference cannot be resolved; `str(exc)` says which and why."""


@dataclass(frozen=True)
class _Unknown:
    """The value of a variable whose own value could not be resolved."""

    reason: str


Scope = Mapping[str, "str | _Unknown | None"]


@dataclass(frozen=True)
class ImageReference:
    """One place the Dockerfile names an image or a stage.

    `image` is the reference after substitution (None when it cannot be resolved, with
    `problem` saying why); `stage` is True when it names one of the file's own stages.
    """

    instruction: str
    line: int
    written: str
    image: str | None
    problem: str | None = None
    stage: bool = False


@dataclass(frozen=True)
class Command:
    """A CMD or ENTRYPOINT: its words (None for the shell form) and its text as a command line."""

    instruction: str
    line: int
    text: str
    words: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Copy:
    """A COPY or ADD from the build context: its sources as written (variables substituted)
    and its destination as an absolute path in the image."""

    line: int
    sources: tuple[str, ...]
    destination: str

    @property
    def into_folder(self) -> bool:
        """True when the destination is a folder the sources go into (several, or a `/` end)."""
        return len(self.sources) > 1 or self.destination.endswith("/")


@dataclass
class Stage:
    index: int
    line: int
    name: str | None
    parent: int | None
    platform: str | None = None
    user: str | None = None
    args: dict = field(default_factory=dict)
    env: dict = field(default_factory=dict)
    reference: ImageReference | None = None
    workdir: str = "/"
    cmd: Command | None = None
    entrypoint: Command | None = None
    # Copies from the build context into this stage's filesystem, its parent stage's first.
    copies: list[Copy] = field(default_factory=list)


@dataclass
class ParsedDockerfile:
    stages: list[Stage] = field(default_factory=list)
    references: list[ImageReference] = field(default_factory=list)
    exposed_port: int | None = None
    directives: dict[str, str] = field(default_factory=dict)

    @property
    def base_images(self) -> list[tuple[str, int]]:
        """(image, line) for every FROM that names an image, not a stage or `scratch`."""
        return [
            (ref.image, ref.line)
            for ref in self.references
            if ref.instruction == "FROM" and ref.image and not ref.stage and ref.image != "scratch"
        ]

    @property
    def user(self) -> str | None:
        """The USER the final stage runs as, following `FROM <stage>` to the stage it builds
        on; None when no stage of that chain sets one (the base image's own user)."""
        stage = self.stages[-1] if self.stages else None
        while stage is not None:
            if stage.user is not None:
                return stage.user
            stage = self.stages[stage.parent] if stage.parent is not None else None
        return None

    @property
    def stage_names(self) -> set[str]:
        return {stage.name for stage in self.stages if stage.name}

    @property
    def final(self) -> Stage | None:
        """The stage the engine builds by default: the last one."""
        return self.stages[-1] if self.stages else None

    @property
    def final_base(self) -> ImageReference | None:
        """The FROM of the image the final stage builds on, following `FROM <stage>` back to
        the stage that names an image."""
        stage = self.final
        while stage is not None and stage.parent is not None:
            stage = self.stages[stage.parent]
        return stage.reference if stage else None


def parse(text: str, build_args: Mapping[str, str] | None = None) -> ParsedDockerfile:
    """Read `text` as the engine would build it with `build_args` (`docker build --build-arg`)."""
    build_args = dict(build_args or {})
    parsed = ParsedDockerfile(directives=_directives(text))
    escape = "`" if parsed.directives.get("escape") == "`" else "\\"
    if "syntax" in parsed.directives:
        parsed.references.append(_reference("# syntax", 1, parsed.directives["syntax"], {}, escape))
    structure = [
        entry
        for entry in DockerfileParser(fileobj=io.BytesIO(text.encode())).structure
        if entry["instruction"] != "COMMENT"
    ]
    froms = [
        _from_words(entry["value"])[2] for entry in structure if entry["instruction"] == "FROM"
    ]
    all_names = {name for name in froms if name}
    top: dict = {}
    for entry in structure:
        instruction, value, line = entry["instruction"], entry["value"], entry["startline"] + 1
        stage = parsed.stages[-1] if parsed.stages else None
        if instruction == "ARG":
            _declare_args(value, stage, top, build_args, escape)
        elif instruction == "FROM":
            _from(parsed, value, line, top, escape)
        elif stage is None:
            continue  # only ARG may come before the first FROM; the engine says so itself
        elif instruction == "ENV":
            _declare_env(value, stage, escape)
        elif instruction == "USER":
            words = value.split()
            stage.user = _expanded_or_written(words[0], stage, escape) if words else None
        elif instruction == "EXPOSE" and parsed.exposed_port is None:
            parsed.exposed_port = _first_port(value, stage, escape)
        elif instruction == "WORKDIR":
            folder = _expanded_or_written(value.strip(), stage, escape)
            stage.workdir = posixpath.normpath(posixpath.join(stage.workdir, folder))
        elif instruction in ("CMD", "ENTRYPOINT"):
            _command(stage, instruction, value, line)
        else:
            if instruction in ("COPY", "ADD"):
                _copy(stage, value, line, escape)
            _flag_references(parsed, instruction, value, line, stage, all_names, escape)
    return parsed


def base_images(text: str, build_args: Mapping[str, str] | None = None) -> list[tuple[str, int]]:
    """(image, line) for every FROM that names an image rather than a stage."""
    return parse(text, build_args).base_images


def exposed_port(text: str) -> int | None:
    """The first EXPOSEd port, if any."""
    return parse(text).exposed_port


def flag_references(
    instruction: str, value: str, line: int = 1, stage_names: Iterable[str] = ()
) -> list[ImageReference]:
    """The images one instruction names outside a file (an ONBUILD trigger of a base image,
    which runs in the building file, whose `stage_names` it may use)."""
    parsed = ParsedDockerfile()
    stage = Stage(0, line, None, None)
    _flag_references(parsed, instruction.upper(), value, line, stage, set(stage_names), "\\")
    return parsed.references


def expand(word: str, scope: Scope, escape: str = "\\") -> str:
    """`word` with quotes removed and variables substituted; raises Unresolvable."""
    out: list[str] = []
    quote, i = None, 0
    while i < len(word):
        char = word[i]
        if char == escape and quote != "'" and i + 1 < len(word):
            out.append(word[i + 1])
            i += 2
        elif char in "'\"" and quote in (None, char):
            quote = None if quote else char
            i += 1
        elif char == "$" and quote != "'":
            value, i = _dollar(word, i + 1, scope, escape)
            out.append(value)
        else:
            out.append(char)
            i += 1
    if quote:
        raise Unresolvable(f"an unclosed {quote} quote in {word!r}")
    return "".join(out)


def _dollar(word: str, i: int, scope: Scope, escape: str) -> tuple[str, int]:
    if word[i : i + 1] != "{":
        name = _NAME.match(word, i)
        if not name:
            return "$", i
        return _lookup(name[0], scope) or "", name.end()
    depth, end = 1, i + 1
    while end < len(word) and depth:
        depth += {"{": 1, "}": -1}.get(word[end], 0)
        end += 1
    if depth:
        raise Unresolvable(f"an unclosed ${{ in {word!r}")
    body = word[i + 1 : end - 1]
    match = _BRACED.fullmatch(body)
    if not match:
        raise Unresolvable(f"${{{body}}} is a form of substitution the check does not evaluate")
    name, operator, alternative = match.groups()
    value = _lookup(name, scope)
    if operator is None:
        return value or "", end
    use_alternative = {
        ":-": not value,
        "-": value is None,
        ":+": bool(value),
        "+": value is not None,
    }[operator]
    if use_alternative:
        return expand(alternative, scope, escape), end
    return ("" if operator.endswith("+") else value or ""), end


def _lookup(name: str, scope: Scope) -> str | None:
    if name not in scope:
        raise Unresolvable(f"${name} is not declared by an ARG in scope")
    value = scope[name]
    if isinstance(value, _Unknown):
        raise Unresolvable(f"${name} could not be resolved: {value.reason}")
    return value


def _directives(text: str) -> dict[str, str]:
    """Parser directives: `# key=value` lines at the very top, before any blank line."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        match = _DIRECTIVE.fullmatch(line.strip()) if line.strip() else None
        if not match or match[1].lower() in found:
            break
        found[match[1].lower()] = match[2]
    return found


def _words(value: str) -> list[str]:
    """Whitespace-separated words, a quoted stretch staying one word."""
    return re.findall(r"""(?:[^\s"']+|"[^"]*"|'[^']*')+""", value)


def _from_words(value: str) -> tuple[str | None, str | None, str | None]:
    """(platform, image as written, stage name) of a FROM line's value."""
    words = _words(value)
    platform = None
    while words and words[0].startswith("--"):
        flag = words.pop(0)
        if flag.lower().startswith("--platform="):
            platform = flag.partition("=")[2]
    image = words[0] if words else None
    name = words[2].lower() if len(words) == 3 and words[1].lower() == "as" else None
    return platform, image, name


def _from(parsed: ParsedDockerfile, value: str, line: int, top: dict, escape: str) -> None:
    platform, written, name = _from_words(value)
    reference = _reference("FROM", line, written or "", top, escape)
    parent = None
    if reference.image is not None:
        earlier = {stage.name: stage.index for stage in parsed.stages if stage.name}
        parent = earlier.get(reference.image.lower())
    if parent is not None:
        reference = ImageReference("FROM", line, reference.written, reference.image, stage=True)
    parsed.references.append(reference)
    stage = Stage(len(parsed.stages), line, name, parent, platform, reference=reference)
    if parent is not None:  # a stage built on another starts with its filesystem and config
        earlier = parsed.stages[parent]
        stage.env, stage.workdir, stage.copies = (
            dict(earlier.env),
            earlier.workdir,
            [*earlier.copies],
        )
        stage.cmd, stage.entrypoint = earlier.cmd, earlier.entrypoint
    parsed.stages.append(stage)


def _reference(instruction: str, line: int, written: str, scope: Scope, escape: str):
    if not written:
        return ImageReference(instruction, line, written, None, "it names no image")
    try:
        return ImageReference(instruction, line, written, expand(written, scope, escape))
    except Unresolvable as exc:
        return ImageReference(instruction, line, written, None, str(exc))


def _declare_args(value: str, stage: Stage | None, top: dict, build_args, escape: str) -> None:
    for word in _words(value):
        name, has_default, default = word.partition("=")
        scope = top if stage is None else _scope(stage)
        if name in build_args:
            resolved = build_args[name]
        elif has_default:
            try:
                resolved = expand(default, scope, escape)
            except Unresolvable as exc:
                resolved = _Unknown(str(exc))
        elif stage is not None:
            resolved = top.get(name)  # `ARG NAME` in a stage takes the global value
        else:
            resolved = None
        (top if stage is None else stage.args)[name] = resolved


def _declare_env(value: str, stage: Stage, escape: str) -> None:
    words = _words(value)
    pairs = (
        [word.partition("=")[::2] for word in words]
        if words and "=" in words[0]
        else [(words[0], value.split(None, 1)[1] if len(words) > 1 else "")]
        if words
        else []
    )
    for name, raw in pairs:
        try:
            stage.env[name] = expand(raw, _scope(stage), escape)
        except Unresolvable as exc:
            stage.env[name] = _Unknown(str(exc))


def _scope(stage: Stage) -> dict:
    return {**stage.args, **stage.env}


def _expanded_or_written(word: str, stage: Stage, escape: str) -> str:
    try:
        return expand(word, _scope(stage), escape)
    except Unresolvable:
        return word


def _command(stage: Stage, instruction: str, value: str, line: int) -> None:
    """CMD or ENTRYPOINT, exec form (a JSON array) or shell form."""
    try:
        array = json.loads(value)
    except ValueError:
        array = None
    if isinstance(array, list) and all(isinstance(word, str) for word in array):
        command = Command(instruction, line, shlex.join(array), tuple(array))
    else:
        command = Command(instruction, line, value.strip())
    if instruction == "CMD":
        stage.cmd = command
        return
    if stage.cmd is not None and stage.cmd.line < stage.line:
        stage.cmd = None  # an ENTRYPOINT resets the CMD the stage inherited
    stage.entrypoint = command


def _copy(stage: Stage, value: str, line: int, escape: str) -> None:
    """A COPY or ADD from the build context (not `--from=`, not a URL)."""
    words = _words(value)
    while words and words[0].startswith("--"):
        if words.pop(0).lower().startswith("--from="):
            return
    try:
        array = json.loads(" ".join(words)) if words[:1] and words[0].startswith("[") else None
    except ValueError:
        array = None
    if isinstance(array, list) and all(isinstance(word, str) for word in array):
        words = array
    else:
        words = [_expanded_or_written(word, stage, escape) for word in words]
    if len(words) < 2 or any("://" in word for word in words[:-1]):
        return
    destination = words[-1]
    absolute = posixpath.join(stage.workdir, destination)
    folder = "/" if destination.endswith("/") or destination in (".", "./") else ""
    resolved = posixpath.normpath(absolute) + folder
    stage.copies.append(Copy(line, tuple(words[:-1]), resolved.replace("//", "/")))


def _first_port(value: str, stage: Stage, escape: str) -> int | None:
    for word in _words(value):
        match = _PORT.match(_expanded_or_written(word, stage, escape))
        if match:
            return int(match[1])
    return None


def _flag_references(
    parsed: ParsedDockerfile,
    instruction: str,
    value: str,
    line: int,
    stage: Stage,
    names: set[str],
    escape: str,
    prefix: str = "",
) -> None:
    """The images named by COPY/ADD --from=, RUN --mount=...from=..., and the same in ONBUILD."""
    if instruction == "ONBUILD":
        inner, _, rest = value.strip().partition(" ")
        _flag_references(parsed, inner.upper(), rest, line, stage, names, escape, prefix="ONBUILD ")
        return
    if instruction not in ("COPY", "ADD", "RUN"):
        return
    for word in _words(value):
        if not word.startswith("--"):
            break
        flag, _, argument = word[2:].partition("=")
        flag = flag.lower()
        if flag == "from" and instruction != "RUN":
            found = [argument]
        elif flag == "mount" and instruction == "RUN":
            found = _mount_sources(argument)
        else:
            continue
        label = f"{prefix}{instruction} --{flag}"
        for written in found:
            earlier = {s.name for s in parsed.stages[: stage.index] if s.name}
            parsed.references.append(_source(label, line, written, stage, names, earlier, escape))


def _mount_sources(argument: str) -> list[str]:
    """The `from=` values of one `--mount=type=...,from=...` option."""
    fields = next(csv.reader([argument.strip("'\"")]), [])
    return [
        item.partition("=")[2]
        for item in fields
        if item.partition("=")[0].strip().lower() == "from"
    ]


def _source(
    label: str,
    line: int,
    written: str,
    stage: Stage,
    names: set[str],
    stage_names: set[str],
    escape: str,
) -> ImageReference:
    """A --from= source: an earlier stage by name or index, another stage by name, or an image."""
    reference = _reference(label, line, written, _scope(stage), escape)
    image = reference.image
    if image is None:
        return reference
    # The engine looks for an earlier stage first, by name or index. BuildKit also finds a
    # later stage by name, where the classic builder looks for an image of that name: a name
    # of hex digits alone could then match an image id, so only an earlier stage may have it.
    earlier = (image.isdigit() and int(image) < stage.index) or image.lower() in stage_names
    later = image.lower() in names and not _HEX.fullmatch(image)
    is_stage = earlier or later
    return ImageReference(label, line, written, image, stage=is_stage)
