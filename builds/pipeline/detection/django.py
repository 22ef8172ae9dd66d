"""Django: settings module, WSGI/ASGI entry point, static files, release command, readiness.

The settings module comes from `os.environ.setdefault("DJANGO_SETTINGS_MODULE", ...)`
in manage.py and the project's wsgi.py/asgi.py. When the value is an
expression (`'x.production' if 'WEBSITE_HOSTNAME' in os.environ else
'x.settings'`) every dotted string in it is a candidate, as are production
siblings of a split settings package; the most production-looking wins.
"""

from __future__ import annotations

import ast
import re

from builds.pipeline.detection import pyast, readiness, sqlite, variables
from builds.pipeline.detection.django_settings import Settings, read_settings
from builds.pipeline.detection.errors import DetectionError
from builds.pipeline.detection.packages import Dependencies
from builds.pipeline.detection.tree import Tree, module_file
from builds.pipeline.detection.webapp import App
from builds.pipeline.plan import Plan

PRODUCTION_WORDS = ("production", "prod", "live", "deploy", "release", "heroku", "docker", "azure")
DEVELOPMENT_WORDS = ("dev", "local", "test", "debug", "ci", "example", "sample")
_MODULE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$")
RELEASE = "python manage.py migrate --noinput"


def detect_django(
    tree: Tree, plan: Plan, deps: Dependencies, *, keep_sqlite: bool = True, own_image: bool = False
) -> App | None:
    """The Django project at the root (manage.py), or None; raises DetectionError when
    manage.py names settings that are not in the repository, or (with `keep_sqlite`) a
    SQLite database outside the app's folder. An `own_image` (the repository's Dockerfile)
    puts the app where it will, so its SQLite databases are not kept on the volume."""
    if not tree.is_file("manage.py"):
        return None
    module = choose_settings(tree, plan)
    settings = read_settings(tree, module)
    if settings is None:
        raise DetectionError(
            f"manage.py names the settings module {module!r}, but no such file is in the "
            "repository. Fix DJANGO_SETTINGS_MODULE in manage.py, or set the project's "
            "framework to 'command' with a start command."
        )
    if deps.names and not deps.has("django"):
        plan.warn(
            "django-not-installed",
            "manage.py is here but Django is not in the "
            f"dependencies ({deps.manager}). Add Django to them.",
        )
    asgi = deps.has("channels", "daphne")
    entrypoint, file, line = _entrypoint(tree, plan, settings, asgi)
    app = App("django", "asgi" if asgi else "wsgi", entrypoint, file, line, release_command=RELEASE)
    app.env["DJANGO_SETTINGS_MODULE"] = module
    urlconf = settings.literal("ROOT_URLCONF")
    app.urlconf = module_file(tree, urlconf) if isinstance(urlconf, str) else None
    plan.note("manage.py", None, f"release command: {RELEASE}")
    app.static_command = _static_command(tree, plan, settings, own_image)
    _check_readiness(plan, settings)
    modules = {file: module for file in settings.files if (module := tree.parse_python(file))}
    plan.variables = variables.settings_variables(modules)
    _keep_sqlite(tree, plan, sqlite.sqlite_databases(modules), keep_sqlite, own_image)
    return app


def choose_settings(tree: Tree, plan: Plan) -> str:
    """The settings module to deploy with; evidence says which candidates there were."""
    candidates: list[tuple[str, str, int]] = []
    named: list[str] = []
    sources = ["manage.py"] + [f for f in tree.files() if f.endswith(("/wsgi.py", "/asgi.py"))]
    for source in sources:
        for value, line in _setdefaults(tree, source):
            found = _dotted_strings(value)
            named += found
            candidates += [(m, source, line) for m in found if module_file(tree, m)]
    if not candidates:
        what = (
            f"names {', '.join(map(repr, named))}, which is not in the repository"
            if named
            else "does not set it with os.environ.setdefault('DJANGO_SETTINGS_MODULE', ...)"
        )
        raise DetectionError(
            f"No Django settings module found: manage.py {what}. Fix DJANGO_SETTINGS_MODULE "
            "there, or set the project's framework to 'command' with a start command."
        )
    known = [m for m, _, _ in candidates]
    for module in list(known):
        package = module.rpartition(".")[0]
        for sibling in ("production", "prod", "live"):
            if package.rpartition(".")[2] not in ("settings", "config", "conf"):
                break
            if module_file(tree, package) and module_file(tree, f"{package}.{sibling}"):
                candidates.append((f"{package}.{sibling}", module_file(tree, package) or "", 0))
                break
    unique = list(dict.fromkeys(m for m, _, _ in candidates))
    chosen = max(unique, key=_production_score)  # max keeps the first of equal scores
    first = next(c for c in candidates if c[0] == chosen)
    if len(unique) == 1:
        plan.note(first[1], first[2], f"Django settings module {chosen}")
    else:
        plan.note(
            first[1],
            first[2] or None,
            f"Django settings candidates {', '.join(unique)}; "
            f"using {chosen}, the most production-looking (set DJANGO_SETTINGS_MODULE "
            "in the project's environment to choose another)",
        )
    return chosen


def _production_score(module: str) -> int:
    last = module.rsplit(".", 1)[-1].lower()
    words = set(re.split(r"[_\W]+", last))
    if words & set(PRODUCTION_WORDS) or any(last.startswith(w) for w in PRODUCTION_WORDS[:2]):
        return 2
    if words & set(DEVELOPMENT_WORDS) or last.startswith(("dev", "local", "test")):
        return -1
    return 0


def _setdefaults(tree: Tree, file: str) -> list[tuple[ast.expr, int]]:
    module = tree.parse_python(file)
    found: list[tuple[ast.expr, int]] = []
    for node in ast.walk(module) if module else []:
        if isinstance(node, ast.Call) and len(node.args) == 2:
            if (pyast.dotted_name(node.func) or "").endswith("environ.setdefault") and (
                pyast.str_value(node.args[0]) == "DJANGO_SETTINGS_MODULE"
            ):
                found.append((node.args[1], node.lineno))
        elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Subscript):
            if pyast.str_value(node.targets[0].slice) == "DJANGO_SETTINGS_MODULE":
                found.append((node.value, node.lineno))
    return found


def _dotted_strings(node: ast.expr) -> list[str]:
    strings = [pyast.str_value(n) for n in ast.walk(node) if isinstance(n, ast.expr)]
    return [s for s in strings if s and _MODULE.match(s)]


def _entrypoint(
    tree: Tree, plan: Plan, settings: Settings, asgi: bool
) -> tuple[str, str, int | None]:
    kind = "ASGI" if asgi else "WSGI"
    declared = settings.literal(f"{kind}_APPLICATION")
    if isinstance(declared, str) and "." in declared:
        setting = settings.values[f"{kind}_APPLICATION"]
        module, _, attribute = declared.rpartition(".")
        plan.note(setting.file, setting.line, f"{kind}_APPLICATION = {declared!r}")
        return f"{module}:{attribute}", setting.file, setting.line
    parts = settings.module.split(".")
    for size in range(len(parts) - 1, 0, -1):
        module = ".".join([*parts[:size], kind.lower()])
        file = module_file(tree, module)
        if file:
            plan.note(file, None, f"{kind} application module {module}")
            if asgi:
                plan.note(None, None, "channels or daphne is a dependency: served over ASGI")
            return f"{module}:application", file, None
    if asgi:
        plan.warn(
            "no-asgi-module",
            "channels or daphne is a dependency but no asgi.py was found "
            "next to the settings: serving over WSGI.",
            settings.file,
        )
        return _entrypoint(tree, plan, settings, asgi=False)
    raise DetectionError(
        f"No WSGI application found for the Django settings {settings.module} (no "
        "WSGI_APPLICATION setting and no wsgi.py beside them). Add a wsgi.py, or set the "
        "project's entry point setting (e.g. mysite.wsgi:application)."
    )


def _static_command(tree: Tree, plan: Plan, settings: Settings, own_image: bool) -> str | None:
    setting = settings.values.get("STATIC_ROOT")
    if setting is None or (isinstance(setting.value, ast.Constant) and setting.value.value is None):
        plan.warn(
            "no-static-root",
            "STATIC_ROOT is not set, so collectstatic is skipped and "
            "static files will not be served. Set STATIC_ROOT (and use WhiteNoise).",
            settings.file,
        )
        return None
    if own_image:
        plan.note(setting.file, setting.line, "STATIC_ROOT is set (the Dockerfile collects them)")
        return None
    env = {"SECRET_KEY": "collectstatic-only", **_required_env(tree, settings)}
    env["DJANGO_SETTINGS_MODULE"] = settings.module
    # Settings must import at build time; real secrets are not available then, so every
    # variable they require gets a throwaway value on that one RUN line (a build
    # argument of the same name, when declared, takes precedence).
    assignments = " ".join(
        f"{name}={value}" if name == "DJANGO_SETTINGS_MODULE" else f'{name}="${{{name}:-{value}}}"'
        for name, value in env.items()
    )
    plan.note(
        setting.file,
        setting.line,
        "STATIC_ROOT is set: collectstatic runs at build time "
        f"with throwaway values for {', '.join(sorted(set(env) - {'DJANGO_SETTINGS_MODULE'}))}",
    )
    return f"{assignments} python manage.py collectstatic --noinput"


def _required_env(tree: Tree, settings: Settings) -> dict[str, str]:
    names: dict[str, str] = {}
    for file in settings.files:
        module = tree.parse_python(file)
        if module is None:
            continue
        names.update((name, "") for name, required, _ in pyast.env_reads(module) if required)
        names.update(_django_environ_reads(module))
    return {name: cast or _dummy(name) for name, cast in names.items() if name != "SECRET_KEY"}


def _django_environ_reads(module: ast.Module) -> dict[str, str]:
    """Variables django-environ (`env("X")`, `env.bool("X")`, `env.db()`) requires, with a cast."""
    found: dict[str, str] = {}
    for node in ast.walk(module):
        if not isinstance(node, ast.Call) or any(k.arg == "default" for k in node.keywords):
            continue
        func = pyast.dotted_name(node.func) or ""
        head, _, method = func.partition(".")
        if head != "env":
            continue
        name = (
            pyast.str_value(node.args[0])
            if node.args
            else variables.ENVIRON_URL_DEFAULTS.get(method)
        )
        if name and (method or len(node.args) == 1):
            found[name] = {"bool": "false", "int": "0", "float": "0", "list": ""}.get(method, "")
    return found


def _dummy(name: str) -> str:
    if name == "DATABASE_URL":
        return "sqlite:////tmp/collectstatic.sqlite3"
    if name.endswith("CACHE_URL"):
        return "locmemcache://"
    if name.endswith("_URL"):
        return "http://localhost/"
    if name.endswith(("PORT", "TIMEOUT", "AGE", "_SECONDS")):
        return "0"
    if name.startswith("DEBUG") or name.endswith("_DEBUG"):
        return "false"
    return "collectstatic-only"


def _check_readiness(plan: Plan, settings: Settings) -> None:
    for name in ("SECRET_KEY", "DEBUG"):
        setting = settings.values.get(name)
        if setting:
            readiness.check_secret(plan, name, setting.value, setting.file, setting.line)
            readiness.check_debug(plan, name, setting.value, setting.file, setting.line)
    hosts = settings.values.get("ALLOWED_HOSTS")
    if hosts is None or settings.literal("ALLOWED_HOSTS") == []:
        plan.warn(
            "empty-allowed-hosts",
            "ALLOWED_HOSTS is empty: with DEBUG off Django answers "
            "every request with 400. Read it from an environment variable.",
            hosts.file if hosts else settings.file,
            hosts.line if hosts else None,
        )


def _keep_sqlite(
    tree: Tree, plan: Plan, databases: list[sqlite.SqliteDatabase], keep: bool, own_image: bool
) -> None:
    """Put each SQLite database on the project's volume, or say why its data is lost."""
    for database in databases:
        where = f"{database.file}:{database.line}"
        if own_image:
            plan.warn(
                "sqlite-database",
                f"The SQLite database {database.path or '(computed)'} is on the container's "
                "filesystem: its data is lost at every deploy (the repository's own Dockerfile "
                "decides where the app lives, so Deployer does not move it to the project's "
                "volume). Use a database server (DATABASE_URL).",
                database.file,
                database.line,
            )
        elif not keep:
            plan.warn(
                "sqlite-database",
                f"The SQLite database {database.path or '(computed)'} is on the container's "
                "filesystem: its data is lost at every deploy, because the project's setting "
                '"Keep the SQLite database" is off. Turn it on, or use a database server.',
                database.file,
                database.line,
            )
        elif database.path is None:
            plan.warn(
                "sqlite-database",
                "The SQLite database's path is computed in a way Deployer cannot read, so it "
                "is not kept on the project's volume: its data is lost at every deploy. Write "
                'it as BASE_DIR / "db.sqlite3" (or any path under the app\'s folder).',
                database.file,
                database.line,
            )
        elif not database.inside_app:
            raise DetectionError(
                f"The SQLite database {database.path} ({where}) is outside the app's folder "
                f"{sqlite.APP_DIR}, so Deployer cannot keep it on the project's volume. Put it "
                'under BASE_DIR (e.g. BASE_DIR / "db.sqlite3"), or turn off the project\'s '
                'setting "Keep the SQLite database" to keep it on the container\'s filesystem '
                "(lost at every deploy)."
            )
        else:
            _refuse_unlinkable(tree, database, where)
            plan.sqlite_databases.append(database.path)
            plan.note(
                database.file,
                database.line,
                f"SQLite database {database.path}: kept on the project's volume, shared by "
                "the release command and the app, and kept across redeploys and rollbacks",
            )


def _refuse_unlinkable(tree: Tree, database: sqlite.SqliteDatabase, where: str) -> None:
    """The database's place in the image becomes a link into the volume: its folders must be
    folders of the repository (or absent), never a file or a link."""
    parts = database.relative.split("/")
    for depth in range(1, len(parts)):
        folder = "/".join(parts[:depth])
        if tree.is_file(folder) or (tree.refusal(folder) and not tree.is_dir(folder)):
            raise DetectionError(
                f"The SQLite database {database.path} ({where}) lies under {folder}, which in "
                "the repository is not a folder, so it cannot be kept on the project's volume. "
                "Choose another path for it."
            )
