"""Why nothing deployable was found, in words that say how to fix it.

Three cases: the app lives one level down (a monorepo: suggest the app root
setting), the repository is a library's source tree (nothing to deploy), or
nothing was recognised at all (list what was looked for).
"""

from __future__ import annotations

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
