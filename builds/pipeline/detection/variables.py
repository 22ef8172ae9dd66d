"""Variables: which environment variables a Django app's settings read, and where each comes from.

Reads found with `ast`: `os.environ["X"]` (required: KeyError when unset),
`os.environ.get("X", default)` and `os.getenv`, django-environ's `env("X")`,
`env.bool("X")`, `env.db()` (required unless given a default), python-decouple's
`config("X")` (the same). A variable is then given by the project, by Deployer (the image's
own environment and PORT), by its default in the settings, or by nobody: a required one
that nobody gives is a readiness warning naming the file and line.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace

from builds.pipeline.detection import pyast
from builds.pipeline.plan import Plan, SettingsVariable

# The variable django-environ's URL readers (`env.db()`, ...) read when given no name.
ENVIRON_URL_DEFAULTS = {
    "db": "DATABASE_URL",
    "db_url": "DATABASE_URL",
    "cache": "CACHE_URL",
    "cache_url": "CACHE_URL",
    "email": "EMAIL_URL",
    "email_url": "EMAIL_URL",
    "search_url": "SEARCH_URL",
}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Names that decide which database the app reaches: the plan says where each comes from.
DATABASE_PREFIXES = ("DB_", "DATABASE", "POSTGRES", "PG", "MYSQL", "SQLITE")


@dataclass(frozen=True)
class Source:
    """Where one variable's value comes from at run time."""

    variable: SettingsVariable
    source: str  # "project", "addon", "deployer", "default", "missing" or "unset"

    @property
    def words(self) -> str:
        return {
            "project": "the project's environment",
            "addon": "the project's add-on",
            "deployer": "Deployer (the image's environment)",
            "default": "its default in the settings",
            "missing": "nobody: the settings fail without it",
            "unset": "nobody (optional: the settings read None)",
        }[self.source]


def settings_variables(modules: dict[str, ast.Module]) -> list[SettingsVariable]:
    """Every variable the files read, once each, at its first read (required if any read
    requires it, with a default if any read gives one)."""
    found: dict[str, SettingsVariable] = {}
    for file, module in modules.items():
        for name, required, has_default, line in sorted(_reads(module), key=lambda r: r[3]):
            known = found.get(name) or SettingsVariable(
                name, file, line, database=is_database(name)
            )
            if required and not known.required:  # point at the read that fails without it
                known = replace(known, file=file, line=line, required=True)
            found[name] = replace(known, has_default=known.has_default or has_default)
    return list(found.values())


def is_database(name: str) -> bool:
    return name.startswith(DATABASE_PREFIXES)


def sources(
    plan: Plan, environment_names: Collection[str], addon_names: Collection[str] = ()
) -> list[Source]:
    """Where each of the plan's variables comes from, given the names the project sets and
    the names its add-ons give."""
    given_by_image = {*plan.env, "PORT"}
    rows = []
    for variable in plan.variables:
        if variable.name in environment_names:
            source = "project"
        elif variable.name in addon_names:
            source = "addon"
        elif variable.name in given_by_image:
            source = "deployer"
        elif variable.required:
            source = "missing"
        else:
            source = "default" if variable.has_default else "unset"
        rows.append(Source(variable, source))
    return rows


def warn_missing(
    plan: Plan, environment_names: Collection[str], addon_names: Collection[str] = ()
) -> None:
    """A readiness warning for each required variable that nobody gives."""
    for row in sources(plan, environment_names, addon_names):
        if row.source == "missing":
            variable = row.variable
            plan.warn(
                "missing-variable",
                f"The settings require {variable.name}, and neither the project nor an add-on "
                "gives it: the app fails at start. Add it to the project's environment"
                + (" (or add a PostgreSQL add-on)." if variable.database else "."),
                variable.file,
                variable.line,
            )


def _reads(module: ast.Module) -> Iterable[tuple[str, bool, bool, int]]:
    """(name, required, has_default, line) for every read of a variable in `module`.

    `os.environ["X"]` inside `if os.environ.get("X"):` (or `if "X" in os.environ:`) is
    guarded by its test, so it does not make X required: the seed article's settings read
    DB_NAME that way and fall back to SQLite without it.
    """
    guarded = _guarded_reads(module)
    for node in ast.walk(module):
        if isinstance(node, ast.Subscript) and pyast.dotted_name(node.value) in (
            "os.environ",
            "environ",
        ):
            name = pyast.str_value(node.slice)
            if name:
                yield name, id(node) not in guarded, False, node.lineno
        elif isinstance(node, ast.Call):
            read = _call_read(node)
            if read and _NAME.fullmatch(read[0]):
                yield read


def _guarded_reads(module: ast.Module) -> set[int]:
    """The ids of `os.environ[...]` nodes inside an `if` (or conditional expression) whose
    test reads the same variable."""
    guarded: set[int] = set()
    for node in ast.walk(module):
        if not isinstance(node, ast.If | ast.IfExp):
            continue
        tested = {read[0] for read in map(_tested_name, ast.walk(node.test)) if read}
        body = node.body if isinstance(node.body, list) else [node.body]
        for inner in (n for statement in body for n in ast.walk(statement)):
            if isinstance(inner, ast.Subscript) and pyast.str_value(inner.slice) in tested:
                guarded.add(id(inner))
    return guarded


def _tested_name(node: ast.AST) -> tuple[str] | None:
    """The variable a test reads: `os.environ.get("X")`, `os.getenv("X")`, `"X" in os.environ`."""
    if isinstance(node, ast.Call):
        read = _call_read(node)
        return (read[0],) if read else None
    if isinstance(node, ast.Compare) and isinstance(node.ops[0], ast.In | ast.NotIn):
        name = pyast.str_value(node.left)
        if name and pyast.dotted_name(node.comparators[0]) in ("os.environ", "environ"):
            return (name,)
    return None


def _call_read(node: ast.Call) -> tuple[str, bool, bool, int] | None:
    func = pyast.dotted_name(node.func) or ""
    keyword_default = any(k.arg == "default" for k in node.keywords)
    if func in ("os.environ.get", "os.getenv", "environ.get", "getenv"):
        name = pyast.str_value(node.args[0]) if node.args else None
        has_default = len(node.args) > 1 or keyword_default
        return (name, False, has_default, node.lineno) if name else None
    head, _, method = func.partition(".")
    if head == "env" and "." not in method:  # django-environ: env("X"), env.bool("X"), env.db()
        name = pyast.str_value(node.args[0]) if node.args else ENVIRON_URL_DEFAULTS.get(method)
        if not name and method in ENVIRON_URL_DEFAULTS and node.args:
            return None  # env.db(some_variable): not a name this reader can know
        return (name, not keyword_default, keyword_default, node.lineno) if name else None
    if func == "config" and node.args:  # python-decouple: config("X", default=...)
        name = pyast.str_value(node.args[0])
        return (name, not keyword_default, keyword_default, node.lineno) if name else None
    return None
