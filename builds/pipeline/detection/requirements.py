"""pip requirements files: names, pins, markers and `-r`/`-c` includes.

Includes are followed relative to the including file, at most
`MAX_INCLUDES` deep, and only inside the repository.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from builds.pipeline.detection.tree import Tree

MAX_INCLUDES = 10
_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$")
_INCLUDE = re.compile(r"^(-r|--requirement|-c|--constraint)(?:\s*=\s*|\s+|(?<=-r)|(?<=-c))(\S+)")
_PINNED = re.compile(r"^===?\s*[^\s,*]+$")


def normalize(name: str) -> str:
    """PEP 503 normalised project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass
class Requirement:
    """One requirement line."""

    name: str | None
    extras: frozenset[str]
    text: str
    file: str
    line: int
    pinned: bool
    marker: str | None = None
    local: bool = False


@dataclass
class RequirementsSet:
    """Every requirement reached from one top file, and the files read to get them."""

    requirements: list[Requirement] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    missing: list[tuple[str, int, str]] = field(default_factory=list)
    # Option lines other than includes and editables (`--index-url ...`): file, line, text.
    options: list[tuple[str, int, str]] = field(default_factory=list)
    # Whether any requirement carries `--hash` (pip then checks hashes for all of them).
    hashed: bool = False


def read_requirements(tree: Tree, rel: str) -> RequirementsSet:
    """Parse `rel` and what it includes; never raises on odd content."""
    result = RequirementsSet()
    _read(tree, rel, result, depth=0)
    return result


def _logical_lines(text: str) -> list[tuple[int, str]]:
    lines: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        lines.append((start, (pending + line).strip()))
        pending = ""
    if pending.strip():
        lines.append((start, pending.strip()))
    return [(number, line) for number, line in lines if line]


def _read(tree: Tree, rel: str, result: RequirementsSet, depth: int) -> None:
    if rel in result.files or depth > MAX_INCLUDES:
        return
    text = tree.read_text(rel)
    if text is None:
        return
    result.files.append(rel)
    for number, line in _logical_lines(text):
        include = _INCLUDE.match(line)
        if include:
            target = posixpath.normpath(posixpath.join(posixpath.dirname(rel), include[2]))
            if tree.is_file(target):
                _read(tree, target, result, depth + 1)
            else:
                result.missing.append((rel, number, include[2]))
            continue
        if line.startswith("-") and not re.match(r"^(-e|--editable)\b", line):
            result.options.append((rel, number, line))
            continue
        result.hashed = result.hashed or bool(re.search(r"\s--hash[=\s]", line))
        requirement = parse_line(line, rel, number)
        if requirement:
            result.requirements.append(requirement)


def parse_line(line: str, file: str, number: int) -> Requirement | None:
    """One requirement from one logical line, or None for options such as --index-url."""
    editable = re.match(r"^(-e|--editable)(?:\s*=\s*|\s+)(\S+)", line)
    if editable:
        line = editable[2]
    elif line.startswith("-"):
        return None
    line = re.sub(r"\s--hash[=\s]\S+", "", line).strip()
    requirement, _, marker = line.partition(";")
    requirement, marker = requirement.strip(), marker.strip() or None
    named = re.match(r"^[A-Za-z0-9][\w.-]*\s*(\[[^\]]*\])?\s*@", requirement)
    path_like = re.match(r"^(\.|/|file:|[A-Za-z]:\\)", requirement)
    if not named and (path_like or requirement.endswith((".whl", ".tar.gz", ".zip"))):
        local = not re.match(r"^https?://", requirement)
        return Requirement(None, frozenset(), line, file, number, True, marker, local=local)
    if re.match(r"^[a-z+]+://", requirement):  # VCS or URL: pinned by the URL itself
        egg = re.search(r"#egg=([A-Za-z0-9._-]+)", requirement)
        name = normalize(egg[1]) if egg else None
        return Requirement(name, frozenset(), line, file, number, True, marker)
    match = _NAME.match(requirement)
    if not match:
        return None
    extras = frozenset(normalize(e) for e in (match[2] or "").strip("[]").split(",") if e.strip())
    spec = match[3].strip()
    pinned = spec.startswith("@") or bool(_PINNED.match(spec))
    return Requirement(normalize(match[1]), extras, line, file, number, pinned, marker)
