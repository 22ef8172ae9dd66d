"""Flask, FastAPI, Starlette and other app instances, found with `ast`.

An app is a module-level `app = Flask(...)` / `FastAPI(...)` (through any
import alias), a factory function that builds one (served as
`module:create_app()`), or `app = create_app()` calling such a factory from
another module. Candidates are ranked: FLASK_APP (.flaskenv/.env) first,
then instances before factories, shallow before deep, usual file names first.
Folders of tests, docs and examples are not searched, and a folder with its
own dependency manifest is a separate project (see `subprojects`).
"""

from __future__ import annotations

import ast
import re

from builds.pipeline.detection import pyast
from builds.pipeline.detection.tree import Tree, depth_of, module_file
from builds.pipeline.detection.webapp import App

APP_CLASSES = {
    "flask.Flask": ("flask", "wsgi"),
    "fastapi.FastAPI": ("fastapi", "asgi"),
    "fastapi.applications.FastAPI": ("fastapi", "asgi"),
    "starlette.applications.Starlette": ("starlette", "asgi"),
    "quart.Quart": ("quart", "asgi"),
    "litestar.Litestar": ("litestar", "asgi"),
}
# Substrings checked first: plain `in` is much faster than the regex below.
MARKER_WORDS = ("Flask", "FastAPI", "Starlette", "Quart", "Litestar", "_app")
# Before parsing: an app class assigned or returned, or a module-level `x = make_app()`.
MARKERS = re.compile(
    r"(?:=|return)\s*(?:\w+\.)*(?:Flask|FastAPI|Starlette|Quart|Litestar)\s*\("
    r"|^\w+\s*(?::[^=\n]+)?=\s*(?:\w+\.)*\w*_app\w*\s*\(",
    re.MULTILINE,
)
MAX_SOURCE_CHARS = 100_000  # an app module is small; big files are vendored code
FILE_NAMES = (
    "app.py",
    "main.py",
    "wsgi.py",
    "asgi.py",
    "application.py",
    "server.py",
    "api.py",
    "run.py",
    "__init__.py",
)
EXCLUDED_DIRS = frozenset(
    {
        "tests",
        "test",
        "testing",
        "docs",
        "doc",
        "docs_src",
        "examples",
        "example",
        "samples",
        "sample",
        "benchmarks",
        "scripts",
        "migrations",
        "alembic",
        "fixtures",
        "tutorial",
    }
)
MANIFESTS = ("requirements.txt", "pyproject.toml", "Pipfile", "setup.py", "manage.py")
MAX_DEPTH = 3
MAX_PARSED = 60


def module_name(rel: str) -> tuple[str, str | None] | None:
    """(dotted module, python path folder or None) for a file, if it is importable."""
    python_path = None
    if rel.startswith("src/"):
        rel, python_path = rel.removeprefix("src/"), "src"
    parts = rel.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    if not parts or not all(part.isidentifier() for part in parts):
        return None
    return ".".join(parts), python_path


def subprojects(tree: Tree) -> list[str]:
    """Top-level folders holding their own dependency manifest or manage.py."""
    return [
        name
        for name in tree.listdir()
        if name not in EXCLUDED_DIRS
        and tree.is_dir(name)
        and any(tree.is_file(f"{name}/{manifest}") for manifest in MANIFESTS)
    ]


def find_apps(
    tree: Tree, *, inside: str | None = None, frameworks: tuple[str, ...] | None = None
) -> list[App]:
    """Every app candidate, best first. `inside` limits the search to one folder,
    `frameworks` to those frameworks.

    Files come shallowest first, so once a depth yields an instance nothing
    deeper can outrank it and the search stops there.
    """
    excluded = set() if inside else set(subprojects(tree))
    ranked: list[tuple[tuple, App]] = []
    parsed = 0
    for rel in tree.files():
        depth = depth_of(rel)
        if any(not key[0] and key[1] < depth for key, _ in ranked):
            break
        if not _searchable(rel, depth, inside, excluded) or parsed >= MAX_PARSED:
            continue
        text = tree.read_text(rel) or ""
        if len(text) > MAX_SOURCE_CHARS or not any(word in text for word in MARKER_WORDS):
            continue
        if not MARKERS.search(text):
            continue
        parsed += 1
        name = rel.rsplit("/", 1)[-1]
        name_rank = FILE_NAMES.index(name) if name in FILE_NAMES else len(FILE_NAMES)
        for app in module_apps(tree, rel):
            if frameworks and app.framework not in frameworks:
                continue
            ranked.append(((app.entrypoint.endswith("()"), depth, name_rank, rel), app))
    ranked.sort(key=lambda item: item[0])
    return [app for _, app in ranked]


def _searchable(rel: str, depth: int, inside: str | None, excluded: set[str]) -> bool:
    if not rel.endswith(".py") or depth > MAX_DEPTH + (1 if inside else 0):
        return False
    folders = rel.split("/")[:-1]
    if (inside and folders[:1] != [inside]) or (folders and folders[0] in excluded):
        return False
    if any(folder in EXCLUDED_DIRS or folder.startswith(".") for folder in folders):
        return False
    return module_name(rel) is not None


def module_apps(tree: Tree, rel: str, *, follow: bool = True) -> list[App]:
    """The apps one module defines: instances, factories, and `app = factory()` calls."""
    named = module_name(rel)
    module = tree.parse_python(rel)
    if named is None or module is None:
        return []
    dotted, python_path = named
    package = dotted if rel.endswith("__init__.py") else dotted.rpartition(".")[0]
    aliases = pyast.import_aliases(module, package)
    env = {"PYTHONPATH": f"/app/{python_path}"} if python_path else {}
    apps: list[App] = []
    for name, value, line in pyast.assignments(module):
        called = pyast.qualified_call(value, aliases)
        if called in APP_CLASSES:
            framework, interface = APP_CLASSES[called]
            apps.append(App(framework, interface, f"{dotted}:{name}", rel, line, env=dict(env)))
        elif called and follow and "." in called:
            origin = _factory_in(tree, called)
            if origin:
                apps.append(
                    App(
                        origin.framework,
                        origin.interface,
                        f"{dotted}:{name}",
                        rel,
                        line,
                        env=dict(env),
                    )
                )
    for node in module.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _builds_app(node, aliases):
            framework, interface = _builds_app(node, aliases) or ("", "")
            apps.append(
                App(
                    framework, interface, f"{dotted}:{node.name}()", rel, node.lineno, env=dict(env)
                )
            )
    return apps


def _builds_app(function: ast.AST, aliases: dict[str, str]) -> tuple[str, str] | None:
    nodes = list(ast.walk(function))
    if not any(isinstance(n, ast.Return) and n.value is not None for n in nodes):
        return None
    local = {**aliases, **pyast.import_aliases_in(nodes)}  # imports inside the factory
    for node in nodes:
        called = pyast.qualified_call(node, local)
        if called in APP_CLASSES:
            return APP_CLASSES[called]
    return None


def _factory_in(tree: Tree, qualified: str) -> App | None:
    module, _, function = qualified.rpartition(".")
    file = module_file(tree, module)
    for app in module_apps(tree, file, follow=False) if file else []:
        if app.entrypoint.endswith(f":{function}()"):
            return app
    return None


def flask_app_setting(tree: Tree) -> tuple[str, str, int] | None:
    """(value, file, line) of FLASK_APP in .flaskenv or .env."""
    for file in (".flaskenv", ".env"):
        for number, line in enumerate((tree.read_text(file) or "").splitlines(), start=1):
            match = re.match(r"^\s*(?:export\s+)?FLASK_APP\s*=\s*[\"']?([^\"'\s#]+)", line)
            if match:
                return match[1], file, number
    return None


def app_from_entrypoint(tree: Tree, entrypoint: str) -> App | None:
    """The app an entry point (`pkg.module:app`, `app.py`, `pkg:create_app()`) names."""
    module, _, attribute = entrypoint.partition(":")
    module = module.removesuffix(".py").replace("/", ".")
    file = module_file(tree, module)
    if file is None:
        return None
    apps = module_apps(tree, file)
    if attribute:
        wanted = f"{module_name(file)[0] if module_name(file) else module}:{attribute}"
        match = next(
            (a for a in apps if a.entrypoint == wanted or a.entrypoint.endswith(f":{attribute}")),
            None,
        )
        if match:
            return match
        module_ast = tree.parse_python(file)
        imports = " ".join(pyast.import_aliases(module_ast).values()) if module_ast else ""
        asgi = re.search(r"\b(fastapi|starlette|quart|litestar)\b", imports)
        framework = asgi[1] if asgi else ("flask" if "flask" in imports else "unknown")
        env = {"PYTHONPATH": "/app/src"} if file.startswith("src/") else {}
        return App(
            framework, "asgi" if asgi else "wsgi", f"{module}:{attribute}", file, None, env=env
        )
    return apps[0] if apps else None
