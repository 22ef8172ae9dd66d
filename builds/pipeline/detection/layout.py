"""Where the app is when it is not at the root, and why nothing deployable was found.

An app one folder down whose dependency and Python files are at the repository root
(NetBox's netbox/ beside requirements.txt) is planned where it is (`app_one_down`).
Otherwise three cases: the app lives one level down with its own dependency files (a
monorepo: suggest the app root setting), the repository is a library's source tree
(nothing to deploy), or nothing was recognised at all (list what was looked for).
"""

from __future__ import annotations

import re

from builds.pipeline.detection import manifests
from builds.pipeline.detection.errors import DetectionError
from builds.pipeline.detection.flask_fastapi import EXCLUDED_DIRS, find_apps, subprojects
from builds.pipeline.detection.requirements import normalize
from builds.pipeline.detection.tree import Tree, depth_of

LOOKED_FOR = (
    "a Dockerfile; a Procfile with a web: line; Django (manage.py at the root); "
    "Flask, FastAPI or Starlette (a module-level app instance or a create_app() factory "
    "in app.py, main.py, wsgi.py, a package or src/)"
)
FIX = (
    "Set the project's framework and entry point (e.g. myapp.main:app), or a start command, "
    "or add a Procfile with a web: line."
)


# Files that say which dependencies or which Python an app needs.
DEPENDENCY_FILES = (
    "pyproject.toml",
    "uv.lock",
    "poetry.lock",
    "Pipfile",
    "Pipfile.lock",
    "setup.py",
    "setup.cfg",
    ".python-version",
    "runtime.txt",
)
_REQUIREMENTS = re.compile(r"requirements.*\.txt")
APP_ROOT_SETTING = "the project's app root directory setting"


def dependency_files(tree: Tree, folder: str = "") -> list[str]:
    """The dependency and Python files directly in `folder` ("" the root), by name."""
    prefix = f"{folder}/" if folder else ""
    names = [name for name in tree.listdir(folder) if _REQUIREMENTS.fullmatch(name)]
    names += [name for name in DEPENDENCY_FILES if tree.is_file(prefix + name)]
    if tree.is_dir(prefix + "requirements"):
        names.append("requirements/")
    return [name for name in names if name.endswith("/") or tree.is_file(prefix + name)]


def apps_one_down(tree: Tree) -> list[tuple[str, str]]:
    """(folder, what) for the folders just below the root that hold a Django project
    (manage.py) or an app module of their own."""
    found = []
    for folder in subprojects(tree):
        if folder.startswith("."):
            continue
        if tree.is_file(f"{folder}/manage.py"):
            found.append((folder, f"{folder}/manage.py"))
        elif apps := find_apps(tree, inside=folder):
            found.append((folder, f"app in {apps[0].file}"))
    return found


def app_one_down(tree: Tree) -> tuple[str, list[str]] | None:
    """(folder, the root's dependency files) for the one app one folder down that relies on
    the root's dependency and Python files; None when there is no such app (then
    `nothing_found` explains). Raises DetectionError when several apps are found there."""
    found = apps_one_down(tree)
    if len(found) > 1:
        places = "; ".join(f"{folder}/ ({what})" for folder, what in found)
        raise DetectionError(
            f"No web app at the repository root, and several below it: {places}. Set "
            f"{APP_ROOT_SETTING} to the folder of the one to deploy (e.g. {found[0][0]!r})."
        )
    root_files = dependency_files(tree)
    if not found or not root_files or dependency_files(tree, found[0][0]):
        return None
    return found[0][0], root_files


def nothing_found(tree: Tree) -> DetectionError:
    """The error to raise when no app, Procfile, Dockerfile or start command was found."""
    elsewhere = apps_below(tree)
    if elsewhere:
        places = "; ".join(f"{folder}/ ({what})" for folder, what in elsewhere)
        first = elsewhere[0][0]
        return DetectionError(
            f"No web app at the repository root, but one was found below it: {places}. "
            f"Set the project's app root directory to {first!r} (the folder holding the app "
            "and its dependency file)."
        )
    library = library_package(tree)
    if library:
        return DetectionError(
            f"Nothing deployable here: this repository is the source of the Python package "
            f"{library[0]!r} ({library[1]}/) and defines no web application. Looked for {LOOKED_FOR}. "
            f"If an app lives in this repository, {FIX[0].lower()}{FIX[1:]}"
        )
    return DetectionError(
        f"No web application found in the repository. Looked for {LOOKED_FOR}. {FIX}"
    )


def apps_below(tree: Tree) -> list[tuple[str, str]]:
    """(folder, what) for apps in folders one or two levels below the root."""
    found: dict[str, str] = {}
    for rel in tree.files():
        name, folder = rel.rsplit("/", 1)[-1], rel.rpartition("/")[0]
        top = folder.split("/")[0]
        if 1 <= depth_of(rel) <= 2 and top not in EXCLUDED_DIRS and not top.startswith("."):
            if name in ("manage.py", "Dockerfile", "Procfile"):
                found.setdefault(folder, name)
    for folder in subprojects(tree):
        apps = find_apps(tree, inside=folder)
        if apps:
            found.setdefault(folder, f"app in {apps[0].file}")
    return sorted(found.items(), key=lambda item: (item[0].count("/"), item[0]))


def library_package(tree: Tree) -> tuple[str, str] | None:
    """(name, folder) when pyproject/setup.cfg names a package whose source is here."""
    pyproject = manifests.pyproject(tree)
    name = (
        pyproject.get("project", {}).get("name")
        or (pyproject.get("tool", {}).get("poetry", {}).get("name"))
        or manifests.setup_cfg(tree).get("metadata", "name", fallback=None)
    )
    if not isinstance(name, str):
        return None
    package = normalize(name).replace("-", "_")
    for folder in (f"src/{package}", package):
        if tree.is_file(f"{folder}/__init__.py"):
            return name, folder
    return None
