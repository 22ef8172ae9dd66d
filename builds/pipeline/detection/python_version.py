"""Which Python the repository asks for, and which available one satisfies it.

Sources, first found wins: `.python-version`, `runtime.txt`, Pipfile
`[requires]`, Poetry's `python` dependency, PEP 621 `requires-python`,
setup.cfg / setup.py `python_requires`. With none, DEFAULT_PYTHON (3.11) is
used, or the newest available version when 3.11 is not offered.
"""

from __future__ import annotations

import configparser
from collections.abc import Sequence

from builds.pipeline.detection import manifests, pyast
from builds.pipeline.detection.errors import DetectionError
from builds.pipeline.detection.tree import Tree
from builds.pipeline.detection.versionspec import SpecError, minor_allowed, parse_minor
from builds.pipeline.plan import DEFAULT_PYTHON, Evidence

SETTING = "the project's Python version setting"


def find_python_spec(tree: Tree) -> tuple[str, Evidence] | None:
    """The first version request found in the repository, with where it was found."""
    for finder in (_python_version_file, _runtime_txt, _pipfile, _poetry, _pep621, _setup):
        found = finder(tree)
        if found:
            return found
    return None


def resolve_python_version(
    requested_spec: str, evidence: Evidence | None, available: Sequence[str]
) -> str:
    """The available major.minor closest to DEFAULT_PYTHON that satisfies `requested_spec`.

    Closest means: DEFAULT_PYTHON itself, else the oldest newer version, else
    the newest older one. So `>=3.10` builds on 3.11 and `^3.12` on 3.12, and
    a base image added for a newer Python never changes an existing project's
    choice. Raises DetectionError naming the file and line that asked, the versions
    available and the setting that overrides it; never picks another minor.
    """
    where = f"{evidence.file} line {evidence.line}" if evidence and evidence.file else SETTING
    offered = ", ".join(available) or "none"
    default = parse_minor(DEFAULT_PYTHON)
    candidates = sorted(
        {parse_minor(version) for version in available},
        key=lambda minor: (minor != default, minor < default, abs(minor[1] - default[1])),
    )
    try:
        for minor in candidates:
            if minor_allowed(requested_spec, minor):
                return f"{minor[0]}.{minor[1]}"
    except SpecError:
        raise DetectionError(
            f"Python version {requested_spec!r} (from {where}) is not a version this platform "
            f"understands. Write a version such as 3.12 there, or set {SETTING} "
            f"to one of: {offered}."
        ) from None
    raise DetectionError(
        f"Python {requested_spec} is requested by {where}, but no available Python satisfies it. "
        f"Available: {offered}. Change that file or set {SETTING} to one of these."
    )


def default_python(available: Sequence[str]) -> str:
    """DEFAULT_PYTHON when offered, else the newest available minor."""
    minors = sorted({parse_minor(version) for version in available}, reverse=True)
    if not minors or parse_minor(DEFAULT_PYTHON) in minors:
        return DEFAULT_PYTHON
    return f"{minors[0][0]}.{minors[0][1]}"


def _python_version_file(tree: Tree) -> tuple[str, Evidence] | None:
    text = tree.read_text(".python-version")
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if line:
            return line, Evidence(".python-version", number, f"Python {line} requested")
    return None


def _runtime_txt(tree: Tree) -> tuple[str, Evidence] | None:
    text = (tree.read_text("runtime.txt") or "").strip()
    if text:
        return text, Evidence("runtime.txt", 1, f"{text} requested")
    return None


def _pipfile(tree: Tree) -> tuple[str, Evidence] | None:
    requires = (manifests.pipfile(tree) or {}).get("requires", {})
    for key in ("python_full_version", "python_version"):
        value = requires.get(key) if isinstance(requires, dict) else None
        if isinstance(value, str) and value.strip():
            line = manifests.line_of(tree, "Pipfile", rf"^\s*{key}\s*=")
            return value, Evidence("Pipfile", line, f"[requires] {key} = {value!r}")
    return None


def _poetry(tree: Tree) -> tuple[str, Evidence] | None:
    poetry = manifests.pyproject(tree).get("tool", {}).get("poetry", {})
    value = poetry.get("dependencies", {}).get("python")
    if isinstance(value, str) and value.strip():
        line = manifests.line_of(tree, "pyproject.toml", r"^\s*python\s*=")
        return value, Evidence("pyproject.toml", line, f"Poetry python = {value!r}")
    return None


def _pep621(tree: Tree) -> tuple[str, Evidence] | None:
    value = manifests.pyproject(tree).get("project", {}).get("requires-python")
    if isinstance(value, str) and value.strip():
        line = manifests.line_of(tree, "pyproject.toml", r"^\s*requires-python\s*=")
        return value, Evidence("pyproject.toml", line, f"requires-python = {value!r}")
    return None


def _setup(tree: Tree) -> tuple[str, Evidence] | None:
    parser = manifests.setup_cfg(tree)
    try:
        value = parser.get("options", "python_requires", fallback="").strip()
    except configparser.Error:
        value = ""
    if value:
        line = manifests.line_of(tree, "setup.cfg", r"^\s*python_requires\s*=")
        return value, Evidence("setup.cfg", line, f"python_requires = {value!r}")
    call = manifests.setup_call(tree)
    for keyword in call.keywords if call else []:
        value = pyast.str_value(keyword.value) if keyword.arg == "python_requires" else None
        if value:
            return value, Evidence("setup.py", keyword.value.lineno, f"python_requires={value!r}")
    return None
