"""SQLite: where a Django app's database file lives inside the image, read from its settings.

The settings are read with `ast`, never imported. A database is found in a `DATABASES`
entry whose ENGINE names `sqlite3`, or in a `sqlite:///` URL (dj-database-url,
django-environ). Its NAME is evaluated as far as plain path arithmetic goes:
`BASE_DIR / "db.sqlite3"`, `os.path.join(BASE_DIR, "db.sqlite3")`, f-strings,
`Path(__file__).resolve().parent.parent`, `os.path.dirname(...)`, and the default of
`os.environ.get("X", default)`. The app's folder in the image is APP_DIR, so `__file__` of
`site_conf/settings.py` is `/app/site_conf/settings.py` and a relative NAME is relative
to APP_DIR (the container's working directory).
"""

from __future__ import annotations

import ast
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass

from builds.pipeline.detection import pyast

APP_DIR = "/app"
# Where the project's volume is mounted in the app's containers (pipeline/volume.py).
DATA_DIR = "/var/lib/deployer/data"
MAX_DEPTH = 12
_PATH_CALLS = ("Path", "pathlib.Path", "PurePath", "pathlib.PurePath", "PosixPath")
_SAME = ("str", "os.fspath", "os.path.abspath", "os.path.realpath", "os.path.normpath")
_SAME_METHODS = ("resolve", "absolute", "expanduser")
_ENV_DEFAULT = ("os.environ.get", "os.getenv", "environ.get", "getenv", "env.str", "config")
_URL_CALLS = ("dj_database_url.config", "dj_database_url.parse", "env.db", "env.db_url")


@dataclass(frozen=True)
class SqliteDatabase:
    """One SQLite database the settings name. `path` is absolute in the image, or None when
    the settings compute it in a way this reader cannot follow."""

    path: str | None
    file: str
    line: int

    @property
    def inside_app(self) -> bool:
        return bool(self.path) and self.path.startswith(APP_DIR + "/")

    @property
    def relative(self) -> str:
        """The path under APP_DIR (only meaningful when `inside_app`)."""
        return (self.path or "")[len(APP_DIR) + 1 :]


def sqlite_databases(modules: dict[str, ast.Module]) -> list[SqliteDatabase]:
    """Every SQLite database named in `modules` (repository path -> parsed settings file, the
    imported ones after those that import them, as `django_settings` lists them), each once.

    A name such as BASE_DIR may be assigned in another of the files (split settings): it is
    looked up in all of them, a file's own assignment winning, and `__file__` in it means
    the file that assigned it.
    """
    found: dict[str | None, SqliteDatabase] = {}
    shared: dict[str, tuple[ast.expr, str]] = {}
    for file, module in reversed(modules.items()):
        shared.update((name, (value, file)) for name, value, _ in pyast.assignments(module))
    for file, module in modules.items():
        own = {name: (value, file) for name, value, _ in pyast.assignments(module)}
        evaluate = _Evaluator({**shared, **own}, file)
        for node in ast.walk(module):
            if isinstance(node, ast.Dict) and _is_sqlite_engine(node):
                value = _dict_value(node, "NAME")
                path = evaluate.path(value) if value is not None else None
                line = getattr(value, "lineno", node.lineno)
                _add(found, SqliteDatabase(_absolute(path), file, line))
            elif isinstance(node, ast.Call) and pyast.dotted_name(node.func) in _URL_CALLS:
                for argument in _url_arguments(node):
                    url = evaluate.path(argument)
                    if url and url.startswith("sqlite:"):
                        path = _url_path(url)
                        _add(found, SqliteDatabase(_absolute(path), file, argument.lineno))
    return list(found.values())


def _add(found: dict[str | None, SqliteDatabase], database: SqliteDatabase) -> None:
    if database.path == ":memory:":
        return
    key = database.path or f"{database.file}:{database.line}"
    found.setdefault(key, database)


def _is_sqlite_engine(node: ast.Dict) -> bool:
    engine = pyast.str_value(_dict_value(node, "ENGINE"))
    return bool(engine) and "sqlite3" in engine


def _dict_value(node: ast.Dict, key: str) -> ast.expr | None:
    for k, v in zip(node.keys, node.values, strict=True):
        if pyast.str_value(k) == key:
            return v
    return None


def _url_arguments(node: ast.Call) -> list[ast.expr]:
    arguments = [k.value for k in node.keywords if k.arg == "default"]
    name = pyast.dotted_name(node.func) or ""
    if name.endswith("parse") and node.args:
        arguments.append(node.args[0])
    if name.startswith("env.") and len(node.args) >= 2:
        arguments.append(node.args[1])
    return arguments


def _url_path(url: str) -> str | None:
    """The file of a `sqlite://` URL: four slashes are absolute, three relative."""
    rest = url.partition(":")[2]
    if not rest.startswith("//"):
        return None
    path = rest[2:].partition("?")[0]
    if path in ("", "/", "/:memory:", ":memory:"):
        return ":memory:"
    return path[1:] if path.startswith("/") else path


def _absolute(path: str | None) -> str | None:
    if path is None or path == ":memory:":
        return path
    return posixpath.normpath(posixpath.join(APP_DIR, path))


class _Evaluator:
    """Evaluates the path arithmetic of a settings file; None where it cannot."""

    def __init__(self, names: dict[str, tuple[ast.expr, str]], file: str) -> None:
        self.names = names
        self.file = file
        self.depth = 0

    def path(self, node: ast.expr | None) -> str | None:
        if node is None or self.depth > MAX_DEPTH:
            return None
        self.depth += 1
        try:
            return self._path(node)
        finally:
            self.depth -= 1

    def _path(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Constant):
            return node.value if isinstance(node.value, str) else None
        if isinstance(node, ast.Name):
            if node.id == "__file__":
                return posixpath.join(APP_DIR, self.file)
            if node.id not in self.names:
                return None
            value, file = self.names[node.id]
            outer, self.file = self.file, file
            try:
                return self.path(value)
            finally:
                self.file = outer
        if isinstance(node, ast.JoinedStr):
            parts = [
                self.path(v.value if isinstance(v, ast.FormattedValue) else v) for v in node.values
            ]
            return None if None in parts else "".join(parts)  # type: ignore[arg-type]
        if isinstance(node, ast.BinOp):
            left, right = self.path(node.left), self.path(node.right)
            if left is None or right is None:
                return None
            if isinstance(node.op, ast.Div):
                return posixpath.join(left, right)
            if isinstance(node.op, ast.Add):
                return left + right
            return None
        if isinstance(node, ast.Attribute) and node.attr == "parent":
            inner = self.path(node.value)
            return posixpath.dirname(posixpath.normpath(inner)) if inner else None
        if isinstance(node, ast.Call):
            return self._call(node)
        return None

    def _call(self, node: ast.Call) -> str | None:
        name = pyast.dotted_name(node.func) or ""
        args = node.args
        if name in _PATH_CALLS or name == "os.path.join":
            parts = [self.path(a) for a in args]
            return None if not parts or None in parts else posixpath.join(*parts)  # type: ignore[arg-type]
        if name in _SAME and len(args) == 1:
            inner = self.path(args[0])
            return posixpath.normpath(inner) if inner and name != "str" else inner
        if name == "os.path.dirname" and len(args) == 1:
            inner = self.path(args[0])
            return posixpath.dirname(posixpath.normpath(inner)) if inner else None
        if name in _ENV_DEFAULT and args:
            default = args[1] if len(args) > 1 else None
            default = next((k.value for k in node.keywords if k.arg == "default"), default)
            return self.path(default)
        if isinstance(node.func, ast.Attribute):
            method, owner = node.func.attr, node.func.value
            if method in _SAME_METHODS and not args:
                inner = self.path(owner)
                return posixpath.normpath(inner) if inner else None
            if method == "joinpath":
                parts = [self.path(owner), *(self.path(a) for a in args)]
                return None if None in parts else posixpath.join(*parts)  # type: ignore[arg-type]
        return None


def volume_links(databases: Sequence[str]) -> dict[str, str]:
    """{path under the app's folder: link target in DATA_DIR} for each kept database.

    The target keeps the file's name; two databases of one name in different folders get
    the folder in it too, so each has its own file on the volume.
    """
    relative = [path[len(APP_DIR) + 1 :] for path in databases]
    names = [posixpath.basename(rel) for rel in relative]
    return {
        rel: posixpath.join(DATA_DIR, name if names.count(name) == 1 else rel.replace("/", "__"))
        for rel, name in zip(relative, names, strict=True)
    }
