"""Names of the packages a lock file installs for production (dev groups left out).

Used to know whether a server or a native-extension package will be present;
installation itself goes through the tool's own export (see `packages`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

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
