"""Names of the packages a lock file installs for production (dev groups left out).

Used to know whether a server or a native-extension package will be present, and
where the packages come from (another index than PyPI, sources without hashes);
installation itself goes through the tool's own export (see `packages`).
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field

from builds.pipeline.detection import manifests
from builds.pipeline.detection.requirements import normalize
from builds.pipeline.detection.tree import Tree


def _reachable(roots: Iterable[str], graph: dict[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    pending = [normalize(root) for root in roots]
    while pending:
        name = pending.pop()
        if name not in seen:
            seen.add(name)
            pending.extend(graph.get(name, ()))
    return seen


def poetry_lock_names(tree: Tree, roots: Iterable[str]) -> set[str]:
    """Packages reachable in poetry.lock from the main dependencies `roots`."""
    graph: dict[str, set[str]] = {}
    for package in manifests.toml(tree, "poetry.lock").get("package", []):
        if isinstance(package, dict) and isinstance(package.get("name"), str):
            depends = package.get("dependencies", {})
            names = {normalize(n) for n in depends} if isinstance(depends, dict) else set()
            graph[normalize(package["name"])] = names
    return _reachable(roots, graph)


def uv_lock_names(tree: Tree, roots: Iterable[str]) -> set[str]:
    """Packages reachable in uv.lock from the project's own entry (or from `roots`)."""
    graph: dict[str, set[str]] = {}
    project_entries: list[str] = []
    for package in manifests.toml(tree, "uv.lock").get("package", []):
        if not isinstance(package, dict) or not isinstance(package.get("name"), str):
            continue
        name = normalize(package["name"])
        depends = package.get("dependencies", [])
        graph[name] = {normalize(d["name"]) for d in depends if isinstance(d, dict) and "name" in d}
        source = package.get("source", {})
        if isinstance(source, dict) and (source.get("editable") or source.get("virtual")) == ".":
            project_entries.append(name)
    return _reachable(project_entries or roots, graph)


def pipfile_lock_names(tree: Tree) -> set[str]:
    """Packages in Pipfile.lock's "default" section (already transitive)."""
    text = tree.read_text("Pipfile.lock")
    try:
        data = json.loads(text) if text else {}
    except (ValueError, RecursionError):
        tree.skip("Pipfile.lock", "not valid JSON")
        return set()
    default = data.get("default", {}) if isinstance(data, dict) else {}
    return {normalize(name) for name in default} if isinstance(default, dict) else set()


@dataclass
class LockSources:
    """Where a lock file's production packages come from, as far as installing them goes."""

    indexes: set[str] = field(default_factory=set)  # package index URLs besides PyPI's own
    unhashed: bool = False  # some package (git, a URL, a path) has no hash to check


def uv_lock_sources(tree: Tree) -> LockSources:
    """The registries and unhashed sources of uv.lock (the project itself aside)."""
    found = LockSources()
    for package in manifests.toml(tree, "uv.lock").get("package", []):
        source = package.get("source") if isinstance(package, dict) else None
        if not isinstance(source, dict):
            continue
        if isinstance(source.get("registry"), str):
            found.indexes.add(source["registry"])
        elif any(key in source for key in ("git", "url", "path")):
            found.unhashed = True
    return found


def poetry_sources(tree: Tree, pyproject: dict) -> LockSources:
    """The sources (`[[tool.poetry.source]]`, poetry.lock's per package) of a Poetry project."""
    found = LockSources()
    declared = pyproject.get("tool", {}).get("poetry", {}).get("source", [])
    for source in declared if isinstance(declared, list) else []:
        if isinstance(source, dict) and isinstance(source.get("url"), str):
            found.indexes.add(source["url"])
    for package in manifests.toml(tree, "poetry.lock").get("package", []):
        source = package.get("source") if isinstance(package, dict) else None
        if isinstance(source, dict):
            if source.get("type") == "legacy" and isinstance(source.get("url"), str):
                found.indexes.add(source["url"])
            elif source.get("type") in {"git", "directory", "file", "url"}:
                found.unhashed = True
    return found


def pipfile_lock_sources(tree: Tree) -> LockSources:
    """Pipfile.lock's `_meta.sources` and whether a default package lacks hashes."""
    found = LockSources()
    text = tree.read_text("Pipfile.lock")
    try:
        data = json.loads(text) if text else {}
    except (ValueError, RecursionError):
        return found
    data = data if isinstance(data, dict) else {}
    meta = data.get("_meta", {})
    sources = meta.get("sources", []) if isinstance(meta, dict) else []
    for source in sources if isinstance(sources, list) else []:
        if isinstance(source, dict) and isinstance(source.get("url"), str):
            found.indexes.add(source["url"])
    default = data.get("default", {})
    for entry in default.values() if isinstance(default, dict) else []:
        if not isinstance(entry, dict) or not entry.get("hashes"):
            found.unhashed = True
    return found


# What Deployer writes into the build context for a lock file it exports itself.
EXPORT_FILE = ".deployer.requirements.txt"
_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9.!+_-]*")
_HASH = re.compile(r"sha256:[0-9a-f]{64}")
_MARKERS = re.compile(r"""[A-Za-z0-9_ .'"<>=!~(),*+-]+""")


def poetry_lock_export(text: str) -> str | None:
    """poetry.lock's main group as a hash-checked requirements file, as `poetry export
    --only main` writes it; None when Deployer does not export this lock itself.

    Lock-version 2.1 (Poetry 2) records for each package its groups and the environment
    markers under which it is needed, so the export is a reading: every package of the
    `main` group that no extra alone asks for (`optional`), with its markers (the `main`
    entry when they differ by group) and the hash of each of its files. Older locks, and
    packages from a git repository, a path, a URL or another index, or without files, leave
    the export to Poetry itself. Saves installing Poetry in every such build (2.3 s here)."""
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError):
        return None
    metadata = data.get("metadata")
    version = metadata.get("lock-version") if isinstance(metadata, dict) else None
    try:
        if tuple(int(part) for part in str(version).split(".")) < (2, 1):
            return None
    except ValueError:
        return None
    lines = []
    for package in data.get("package", []):
        line = _poetry_line(package)
        if line is None:
            return None
        if line:
            lines.append(line)
    return "".join(sorted(lines, key=str.lower))


def _poetry_line(package: object) -> str | None:
    """One package's requirement with its hashes; "" when the main group does not install
    it; None when it is not a plain, hashed package from PyPI."""
    if not isinstance(package, dict):
        return None
    groups = package.get("groups")
    name, version, files = package.get("name"), package.get("version"), package.get("files")
    if not isinstance(groups, list) or not isinstance(name, str) or not isinstance(version, str):
        return None
    if "main" not in groups or package.get("optional") is True:
        return ""
    if package.get("source") or package.get("develop") or not isinstance(files, list) or not files:
        return None
    hashes = [f.get("hash") for f in files if isinstance(f, dict)]
    if not hashes or not all(isinstance(h, str) and _HASH.fullmatch(h) for h in hashes):
        return None
    markers = package.get("markers")
    if isinstance(markers, dict):
        markers = markers.get("main")
    # Each value is checked for what it may be: a marker with a line break or an option
    # would otherwise add lines of its own (another index) to the requirements file.
    if markers is not None and not (isinstance(markers, str) and _MARKERS.fullmatch(markers)):
        return None
    if not _NAME.fullmatch(name) or not _VERSION.fullmatch(version):
        return None
    return _hashed(f"{name}=={version}" + (f" ; {markers}" if markers else ""), hashes)


def pipfile_lock_export(text: str) -> str | None:
    """Pipfile.lock's default packages as a hash-checked requirements file, as `pipenv
    requirements --hash` writes it; None when Deployer does not export this lock itself.

    The lock's `default` section is already every package production installs, each with
    its version, markers and hashes. Packages from git, a path, a file, another index, or
    without hashes leave the export to Pipenv itself. Saves installing Pipenv in every such
    build (1.5 s here)."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    default = data.get("default") if isinstance(data, dict) else None
    if not isinstance(default, dict):
        return None
    lines = []
    for name, entry in default.items():
        line = _pipfile_line(name, entry)
        if line is None:
            return None
        lines.append(line)
    return "".join(sorted(lines, key=str.lower))


def _pipfile_line(name: object, entry: object) -> str | None:
    if not isinstance(name, str) or not isinstance(entry, dict) or not _NAME.fullmatch(name):
        return None
    if set(entry) - {"version", "hashes", "markers", "extras", "index"}:
        return None  # git, path, file, editable, ref...: Pipenv's own export
    version, hashes, markers = entry.get("version"), entry.get("hashes"), entry.get("markers")
    extras = entry.get("extras", [])
    if entry.get("index", "pypi") != "pypi" or not isinstance(version, str):
        return None
    if not version.startswith("==") or not _VERSION.fullmatch(version[2:]):
        return None
    if not isinstance(hashes, list) or not hashes:
        return None
    if not all(isinstance(h, str) and _HASH.fullmatch(h) for h in hashes):
        return None
    if markers is not None and not (isinstance(markers, str) and _MARKERS.fullmatch(markers)):
        return None
    if not isinstance(extras, list) or not all(
        isinstance(e, str) and _NAME.fullmatch(e) for e in extras
    ):
        return None
    head = f"{name}{'[' + ','.join(extras) + ']' if extras else ''}{version}"
    return _hashed(head + (f" ; {markers}" if markers else ""), hashes)


def _hashed(requirement: str, hashes: list[str]) -> str:
    """A requirement with its hashes, one continuation line each, as the tools write them."""
    return requirement + "".join(f" \\\n    --hash={h}" for h in hashes) + "\n"
