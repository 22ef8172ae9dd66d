"""Which package manager a repository uses, and the exact steps that install its dependencies.

First match wins: a requirements file named in the project settings, uv
(uv.lock), Poetry (poetry.lock or [tool.poetry]), Pipenv (Pipfile.lock or
Pipfile), requirements.txt, PEP 621 `[project].dependencies`, setup.cfg /
setup.py `install_requires` (read, never run). Everything is installed with uv
(`installer`), into /opt/venv, except a requirements file with an option uv does
not read as pip does, which pip installs (said in the plan). Lock files are exported
to a requirements file (uv.lock by uv itself, a Poetry 2 poetry.lock and a Pipfile.lock of
PyPI packages by Deployer, which reads them, the others by their tool, run from a
throwaway virtualenv in the build stage) with their hashes, and installed hash-checked.
`public_pypi` says whether the plan installs from public PyPI alone, so the shared
package cache may serve it (a private index never goes through the cache).
"""

from __future__ import annotations

import ast
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field

from builds.pipeline.detection import installer, locks, manifests
from builds.pipeline.detection.errors import DetectionError
from builds.pipeline.detection.installer import PIP_INSTALL, UV, uv_install
from builds.pipeline.detection.requirements import (
    Requirement,
    RequirementsSet,
    normalize,
    parse_line,
    read_requirements,
)
from builds.pipeline.detection.tree import Tree
from builds.pipeline.plan import Plan

TOOLS = "/opt/deployer-tools"
EXPORTED = "/opt/deployer-requirements.txt"
REQUIREMENTS_FALLBACKS = (
    "requirements.txt",
    "requirements/production.txt",
    "requirements/prod.txt",
    "requirements-prod.txt",
    "requirements/base.txt",
)


@dataclass
class Dependencies:
    """What the chosen manager installs: names (PEP 503) with their extras."""

    manager: str = "none"
    files: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    names: set[str] = field(default_factory=set)
    extras: dict[str, set[str]] = field(default_factory=dict)
    needs_source: bool = False
    installer: str = "uv"
    public_pypi: bool = True

    def has(self, *names: str) -> bool:
        """True if any of `names` will be installed."""
        return any(normalize(name) in self.names for name in names)

    def add(self, requirements: Iterable[Requirement]) -> None:
        for requirement in requirements:
            if requirement.name:
                self.names.add(requirement.name)
                self.extras.setdefault(requirement.name, set()).update(requirement.extras)


def detect_dependencies(tree: Tree, plan: Plan, requirements_file: str | None) -> Dependencies:
    """Choose the manager and fill in plan evidence and warnings; raises DetectionError
    when the requirements file named in the project settings does not exist."""
    if requirements_file:
        if not tree.is_file(requirements_file):
            raise DetectionError(
                f"The requirements file {requirements_file!r} named in the project settings "
                "does not exist in the repository. Fix the project's requirements file setting "
                "or leave it empty to detect the package manager."
            )
        plan.note(requirements_file, None, "requirements file set in the project settings")
        return _pip(tree, plan, requirements_file)
    pyproject = manifests.pyproject(tree)
    if tree.is_file("uv.lock"):
        plan.note("uv.lock", None, "uv lock file: dependencies exported from it with uv")
        deps = _uv(tree, pyproject)
    elif tree.is_file("poetry.lock") or "poetry" in pyproject.get("tool", {}):
        where = "poetry.lock" if tree.is_file("poetry.lock") else "pyproject.toml"
        plan.note(where, None, "Poetry project: dependencies exported from it with Poetry")
        deps = _poetry(tree, plan, pyproject)
    elif tree.is_file("Pipfile.lock") or tree.is_file("Pipfile"):
        deps = _pipenv(tree, plan)
    elif rel := next((r for r in REQUIREMENTS_FALLBACKS if tree.is_file(r)), None):
        plan.note(rel, None, "pip requirements file")
        return _pip(tree, plan, rel)
    elif "project" in pyproject:
        deps = _pep621(tree, plan, pyproject)
    elif tree.is_file("setup.py") or manifests.setup_cfg(tree).has_section("options"):
        deps = _setuptools(tree, plan)
    else:
        plan.warn(
            "no-dependencies",
            "No dependency manifest found (requirements.txt, "
            "pyproject.toml, Pipfile, setup.py): only the web server will be installed.",
        )
        return Dependencies()
    if tree.is_file("requirements.txt"):
        plan.note("requirements.txt", None, f"ignored: {deps.manager} takes precedence")
    return deps


def _tool_steps(tool: str, *commands: str, hashes: bool) -> list[str]:
    """Export with a tool from a throwaway virtualenv of the build stage, install the export."""
    return [
        f"{UV} venv --quiet {TOOLS}",
        f"{UV} pip install --quiet --python {TOOLS}/bin/python {tool}",
        *commands,
        uv_install("-r", EXPORTED, hashes=hashes),
        f"rm -rf {TOOLS} {EXPORTED}",
    ]


def _list_step(requirements: list[str]) -> list[str]:
    return [uv_install(*(shlex.quote(r) for r in requirements))] if requirements else []


def _pip(tree: Tree, plan: Plan, rel: str) -> Dependencies:
    found = read_requirements(tree, rel)
    deps = Dependencies("pip", files=found.files, steps=_requirements_steps(plan, rel, found))
    deps.installer = "pip" if deps.steps[0].startswith(PIP_INSTALL) else "uv"
    deps.public_pypi = not any(installer.names_an_index(text) for *_, text in found.options)
    deps.add(found.requirements)
    for file, line, target in found.missing:
        plan.warn(
            "missing-include", f"Included file {target!r} not found in the repository.", file, line
        )
    local = [r for r in found.requirements if r.local]
    if local:
        deps.needs_source = True
        plan.note(
            local[0].file,
            local[0].line,
            f"installs a local path ({local[0].text}): "
            "dependencies are installed after the source is copied, so every change reinstalls them",
        )
    check_requirements(plan, found.requirements)
    return deps


def _requirements_steps(plan: Plan, rel: str, found: RequirementsSet) -> list[str]:
    """uv for a requirements file, unless one of its options is pip's alone (then pip, said)."""
    for file, line, text in found.options:
        why = installer.uv_refuses(text)
        if why:
            plan.note(file, line, f"installed with pip, not uv: {why}")
            plan.warn(
                "pip-install",
                f"{file} uses {why}, so its dependencies are installed with pip, "
                "which is slower than uv and does not use the package cache.",
                file,
                line,
            )
            return [f"{PIP_INSTALL} -r {shlex.quote(rel)}"]
    extra = (
        ["--index-strategy", "unsafe-best-match"]
        if any(text.startswith("--extra-index-url") for *_, text in found.options)
        else []
    )  # pip looks for the best version across every index; uv's default is the first
    return [uv_install(*extra, "-r", shlex.quote(rel), hashes=found.hashed)]


def _uv(tree: Tree, pyproject: dict) -> Dependencies:
    roots = [
        r.name
        for r in _strings(pyproject.get("project", {}).get("dependencies"), "pyproject.toml")
        if r.name
    ]
    sources = locks.uv_lock_sources(tree)
    public = installer.public_only(sources.indexes)
    # A private registry's URL goes into the export, so the install asks that registry.
    export = (
        f"{UV} export --frozen --no-dev --no-emit-workspace "
        f"{'--no-hashes ' if sources.unhashed else ''}{'' if public else '--emit-index-url '}"
        f"--quiet --output-file {EXPORTED}"
    )
    steps = [export, uv_install("-r", EXPORTED, hashes=not sources.unhashed), f"rm -f {EXPORTED}"]
    deps = Dependencies("uv", files=["pyproject.toml", "uv.lock"], steps=steps, public_pypi=public)
    deps.names = locks.uv_lock_names(tree, roots)
    return deps


def _poetry(tree: Tree, plan: Plan, pyproject: dict) -> Dependencies:
    declared = pyproject.get("tool", {}).get("poetry", {}).get("dependencies", {})
    roots = [name for name in declared if name.lower() != "python"]
    roots += [
        r.name
        for r in _strings(pyproject.get("project", {}).get("dependencies"), "pyproject.toml")
        if r.name
    ]
    sources = locks.poetry_sources(tree, pyproject)
    commands = [
        f"{TOOLS}/bin/poetry export --only main "
        f"{'--without-hashes ' if sources.unhashed else ''}--format requirements.txt "
        f"--output {EXPORTED}"
    ]
    files = ["pyproject.toml"]
    if tree.is_file("poetry.lock"):
        files.append("poetry.lock")
        names = locks.poetry_lock_names(tree, roots)
    else:
        commands.insert(0, f"{TOOLS}/bin/poetry lock")
        names = {normalize(name) for name in roots}
        plan.warn(
            "no-lock-file",
            "No poetry.lock: dependencies are resolved at every build, "
            "so two builds of one commit may differ. Commit poetry.lock.",
            "pyproject.toml",
        )
    public = installer.public_only(sources.indexes)
    if public and "poetry.lock" in files:
        if locks.poetry_lock_export(tree.read_text("poetry.lock") or "") is not None:
            return _exported_by_deployer(plan, "poetry", "poetry.lock", "its main group", names)
    hashes = not sources.unhashed and tree.is_file("poetry.lock")
    steps = _tool_steps("poetry poetry-plugin-export", *commands, hashes=hashes)
    return Dependencies(
        "poetry",
        files=files,
        steps=steps,
        names=names,
        public_pypi=public,
    )


def _exported_by_deployer(
    plan: Plan, manager: str, lock: str, what: str, names: set[str]
) -> Dependencies:
    """A lock Deployer exports itself (`generated_files`), installed hash-checked with uv."""
    tool = {"poetry": "Poetry", "pipenv": "Pipenv"}[manager]
    plan.note(
        lock,
        None,
        f"{tool} lock file: {what} exported by Deployer and installed hash-checked with uv, "
        f"without installing {tool}",
    )
    steps = [uv_install("-r", locks.EXPORT_FILE, hashes=True)]
    return Dependencies(manager, files=[locks.EXPORT_FILE], steps=steps, names=names)


def generated_files(plan: Plan, tree: Tree) -> dict[str, str]:
    """The files Deployer writes into the build context for `plan` (read from the same
    checkout as detection): a lock file's export when Deployer exports it itself."""
    if locks.EXPORT_FILE not in plan.dependency_files:
        return {}
    lock, export = (
        ("Pipfile.lock", locks.pipfile_lock_export)
        if plan.package_manager == "pipenv"
        else ("poetry.lock", locks.poetry_lock_export)
    )
    exported = export(tree.read_text(lock) or "")
    if exported is None:  # detection read it from this very checkout
        raise DetectionError(f"{lock} could not be exported again for the build.")
    return {locks.EXPORT_FILE: exported}


def _pipenv(tree: Tree, plan: Plan) -> Dependencies:
    if tree.is_file("Pipfile.lock"):
        sources = locks.pipfile_lock_sources(tree)
        public = installer.public_only(sources.indexes)
        names = locks.pipfile_lock_names(tree)
        if public and locks.pipfile_lock_export(tree.read_text("Pipfile.lock") or "") is not None:
            return _exported_by_deployer(
                plan, "pipenv", "Pipfile.lock", "its default packages", names
            )
        plan.note(
            "Pipfile.lock", None, "Pipenv lock file: dependencies exported from it with Pipenv"
        )
        export = f"{TOOLS}/bin/pipenv requirements{'' if sources.unhashed else ' --hash'}"
        steps = _tool_steps("pipenv", f"{export} > {EXPORTED}", hashes=not sources.unhashed)
        files = ["Pipfile", "Pipfile.lock"] if tree.is_file("Pipfile") else ["Pipfile.lock"]
        return Dependencies("pipenv", files=files, steps=steps, names=names, public_pypi=public)
    plan.note("Pipfile", None, "Pipfile without a lock: its [packages] installed with uv")
    plan.warn(
        "no-lock-file",
        "No Pipfile.lock: dependencies are resolved at every build. "
        "Run `pipenv lock` and commit Pipfile.lock.",
        "Pipfile",
    )
    requirements = []
    for name, spec in (manifests.pipfile(tree).get("packages") or {}).items():
        version = (
            spec
            if isinstance(spec, str)
            else (spec.get("version", "*") if isinstance(spec, dict) else "*")
        )
        extras = spec.get("extras", []) if isinstance(spec, dict) else []
        text = (
            name + (f"[{','.join(extras)}]" if extras else "") + ("" if version == "*" else version)
        )
        requirements.append(text)
    parsed = _strings(requirements, "Pipfile")
    check_requirements(plan, parsed)
    deps = Dependencies("pipenv", files=[], steps=_list_step(requirements))
    deps.add(parsed)
    return deps


def _pep621(tree: Tree, plan: Plan, pyproject: dict) -> Dependencies:
    project = pyproject.get("project", {})
    if "dependencies" in project.get("dynamic", []):
        dynamic = pyproject.get("tool", {}).get("setuptools", {}).get("dynamic", {})
        files = dynamic.get("dependencies", {}).get("file", [])
        files = [files] if isinstance(files, str) else files
        if files and tree.is_file(files[0]):
            plan.note("pyproject.toml", None, f"dependencies are read from {files[0]}")
            return _pip(tree, plan, files[0])
        plan.note(
            "pyproject.toml", None, "dependencies are dynamic: the project is installed with uv"
        )
        return Dependencies("pep621", steps=[uv_install(".")], needs_source=True)
    strings = [d for d in project.get("dependencies", []) if isinstance(d, str)]
    line = manifests.line_of(tree, "pyproject.toml", r"^\s*dependencies\s*=")
    plan.note("pyproject.toml", line, f"PEP 621 dependencies ({len(strings)}) installed with uv")
    parsed = _strings(strings, "pyproject.toml", line)
    check_requirements(plan, parsed, lock_hint="no lock file")
    deps = Dependencies("pep621", steps=_list_step(strings))
    deps.add(parsed)
    return deps


def _setuptools(tree: Tree, plan: Plan) -> Dependencies:
    raw = manifests.setup_cfg(tree).get("options", "install_requires", fallback="")
    strings, where = [s.strip() for s in raw.splitlines() if s.strip()], "setup.cfg"
    if not strings and tree.is_file("setup.py"):
        where, strings = "setup.py", _setup_py_requires(tree)
        if strings is None:
            plan.note(
                "setup.py",
                None,
                "install_requires is not a literal list: the project is "
                "installed with uv after the source is copied",
            )
            return Dependencies("setuptools", steps=[uv_install(".")], needs_source=True)
    plan.note(
        where,
        None,
        f"install_requires ({len(strings)}) installed with uv; setup.py is never run here",
    )
    parsed = _strings(strings, where)
    check_requirements(plan, parsed)
    deps = Dependencies("setuptools", steps=_list_step(strings))
    deps.add(parsed)
    return deps


def _setup_py_requires(tree: Tree) -> list[str] | None:
    call = manifests.setup_call(tree)
    value = (
        next((k.value for k in call.keywords if k.arg == "install_requires"), None)
        if call
        else None
    )
    if value is None:
        return []
    if isinstance(value, ast.Name):  # install_requires=REQUIRES, a module-level list
        module = tree.parse_python("setup.py")
        for node in module.body if module else []:
            if isinstance(node, ast.Assign) and any(
                getattr(t, "id", None) == value.id for t in node.targets
            ):
                value = node.value
    try:
        literal = ast.literal_eval(value)
    except (ValueError, TypeError, SyntaxError, RecursionError):
        return None
    return [s for s in literal if isinstance(s, str)] if isinstance(literal, list | tuple) else None


def _strings(strings: object, file: str, line: int | None = None) -> list[Requirement]:
    items = strings if isinstance(strings, list) else []
    parsed = [parse_line(s, file, line or 0) for s in items if isinstance(s, str)]
    return [r for r in parsed if r]


def check_requirements(plan: Plan, requirements: list[Requirement], lock_hint: str = "") -> None:
    """Warn about unpinned requirements and about environment markers."""
    loose = [r for r in requirements if not r.pinned and r.name]
    if loose:
        names = ", ".join(r.name or "" for r in loose[:5]) + (" ..." if len(loose) > 5 else "")
        why = f" ({lock_hint})" if lock_hint else ""
        plan.warn(
            "unpinned-dependencies",
            f"{len(loose)} dependencies are not pinned to an exact "
            f"version{why}: {names}. Pin them (==) or commit a lock file so every build "
            "installs the same code.",
            loose[0].file,
            loose[0].line or None,
        )
    marked = [r for r in requirements if r.marker]
    if marked:
        first = marked[0]
        plan.warn(
            "environment-markers",
            f"{len(marked)} requirements have environment markers "
            f"(e.g. `{first.text}`): they install only where the marker holds, here on "
            f"Linux with Python {plan.python_version}.",
            first.file,
            first.line or None,
        )
