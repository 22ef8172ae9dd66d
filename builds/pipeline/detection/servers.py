"""Web servers: the command we generate, the ones we recognise, and their pitfalls.

Generated commands use gunicorn: WSGI apps directly, ASGI apps with uvicorn
workers. Both bind 0.0.0.0:$PORT and take their worker count from
WEB_CONCURRENCY. Commands from a Procfile or the project settings are
checked for a known server, a development server, and a $PORT binding.
"""

from __future__ import annotations

import ast
import os
import re
import shlex

from builds.pipeline.detection import pyast
from builds.pipeline.detection.packages import Dependencies
from builds.pipeline.detection.tree import Tree
from builds.pipeline.detection.webapp import App

BIND = "0.0.0.0:$PORT"
WORKERS = "${WEB_CONCURRENCY:-2}"
UVICORN_WORKER = "uvicorn.workers.UvicornWorker"
# Command (or `python -m` module) -> the package that provides it.
SERVER_PACKAGES = {
    "gunicorn": "gunicorn",
    "uvicorn": "uvicorn",
    "hypercorn": "hypercorn",
    "uwsgi": "uwsgi",
    "daphne": "daphne",
    "waitress-serve": "waitress",
    "fastapi run": "fastapi-cli[standard]",
}
NOT_DEV_RUNNERS = frozenset({"subprocess", "asyncio", "uvicorn", "hypercorn", "anyio", "trio"})
_SHELL_OPERATORS = re.compile(r"&&|\|\||[;|<>`]|\$\(")


def gunicorn_command(app: App, *, workers: bool = True, worker_class: bool = True) -> str:
    """The gunicorn command line for an app; `workers`/`worker_class` False leave those to
    gunicorn.conf.py."""
    parts = ["gunicorn", shlex.quote(app.entrypoint), "--bind", BIND]
    if workers:
        parts += ["--workers", WORKERS]
    if app.interface == "asgi" and worker_class:
        parts += ["-k", UVICORN_WORKER]
    parts += ["--access-logfile", "-"]
    return " ".join(parts)


def words(command: str) -> list[str]:
    """The command's words without leading `VAR=value` assignments and `exec`."""
    try:
        tokens = shlex.split(command)
    except ValueError:
        tokens = command.split()
    while tokens and (re.match(r"^[A-Za-z_]\w*=", tokens[0]) or tokens[0] == "exec"):
        tokens.pop(0)
    return tokens


def server_of(command: str) -> str | None:
    """The known server a command starts (a SERVER_PACKAGES key), or None."""
    tokens = words(command)
    if len(tokens) >= 3 and re.match(r"^python(3(\.\d+)?)?$", os.path.basename(tokens[0])):
        if tokens[1] == "-m":
            tokens = tokens[2:]
    if not tokens:
        return None
    program = os.path.basename(tokens[0])
    if program == "fastapi" and tokens[1:2] == ["run"]:
        return "fastapi run"
    return program if program in SERVER_PACKAGES else None


def missing_packages(command: str, deps: Dependencies, *, channels: bool = False) -> list[str]:
    """Server packages `command` needs that the dependencies do not provide."""
    server = server_of(command)
    needed: list[str] = []
    if server == "fastapi run":
        if not (deps.has("fastapi-cli") or deps.extras.get("fastapi", set()) & {"standard", "all"}):
            needed.append(SERVER_PACKAGES[server])
        return needed
    if server and not deps.has(server):
        needed.append(SERVER_PACKAGES[server])
    if UVICORN_WORKER in command and not deps.has("uvicorn", "uvicorn-worker"):
        needed.append("uvicorn[standard]" if channels else "uvicorn")
    return needed


def dev_server(tree: Tree, command: str) -> str | None:
    """Why `command` is a development server, or None."""
    if re.search(r"manage\.py\s+runserver", command):
        return "Django's runserver"
    if re.search(r"\bflask\s+run\b", command):
        return "flask run"
    if re.search(r"\bfastapi\s+dev\b", command):
        return "fastapi dev"
    if server_of(command) and re.search(r"\s--reload\b", command):
        return f"{server_of(command)} with --reload"
    tokens = words(command)
    script = tokens[1] if len(tokens) == 2 and tokens[0].startswith("python") else None
    if script and script.endswith(".py") and _calls_run(tree, script):
        return f"{script} calling app.run()"
    return None


def _calls_run(tree: Tree, rel: str) -> bool:
    """True if the script calls `<app>.run(...)`, the frameworks' development server."""
    module = tree.parse_python(rel)
    for node in ast.walk(module) if module else []:
        name = pyast.dotted_name(node.func) if isinstance(node, ast.Call) else None
        if name and name.endswith(".run") and name.split(".")[0] not in NOT_DEV_RUNNERS:
            return True
    return False


# Servers that listen on 127.0.0.1 unless told otherwise, and the option that says otherwise.
LOCALHOST_BY_DEFAULT = {
    "uvicorn": r"--host[=\s]+(0\.0\.0\.0|::|\[::\])",
    "daphne": r"(-b|--bind)[=\s]+(0\.0\.0\.0|::)",
    "hypercorn": r"(-b|--bind)[=\s]+['\"]?(0\.0\.0\.0|\[::\])",
}


def port_problem(command: str) -> str | None:
    """Why `command` would not be reachable on 0.0.0.0:$PORT, or None when it is (or may be)."""
    server = server_of(command)
    if server is None:
        return None  # unknown command: nothing to say
    if re.search(r"(127\.0\.0\.1|localhost):", command):
        return f"{server} listens on localhost only; bind 0.0.0.0:$PORT"
    if "$PORT" not in command and "${PORT" not in command:
        if server == "gunicorn" and not re.search(r"(\s-b\s|\s--bind[\s=])", f" {command} "):
            return None  # gunicorn binds 0.0.0.0:$PORT by itself when PORT is set
        return f"{server} does not bind $PORT; the platform sends traffic to 0.0.0.0:$PORT"
    listen = LOCALHOST_BY_DEFAULT.get(server)
    if listen and not re.search(listen, command):
        return f"{server} listens on 127.0.0.1 unless told to listen on 0.0.0.0"
    return None


def split_chained(command: str) -> tuple[str, str] | None:
    """(release, web) for `a && b && server ...` where only the last part is a server."""
    parts = [part.strip() for part in command.split("&&")]
    if len(parts) < 2 or not server_of(parts[-1]) or any(server_of(p) for p in parts[:-1]):
        return None
    return " && ".join(parts[:-1]), parts[-1]


def is_simple(command: str) -> bool:
    """True when `command` is one program with arguments (so `exec` can prefix it)."""
    return not _SHELL_OPERATORS.search(command)


# Options of the servers above that take a value as the next word (so it is not the app).
_VALUE_OPTIONS = frozenset(
    {
        "-b",
        "--bind",
        "-w",
        "--workers",
        "-k",
        "--worker-class",
        "-c",
        "--config",
        "-t",
        "--timeout",
        "--chdir",
        "--app-dir",
        "--access-logfile",
        "--error-logfile",
        "--log-file",
        "--log-level",
        "--threads",
        "-e",
        "--env",
        "--pythonpath",
        "--host",
        "--port",
        "-p",
        "--graceful-timeout",
        "--keep-alive",
        "--max-requests",
        "--max-requests-jitter",
        "--forwarded-allow-ips",
        "--root-path",
        "--log-config",
        "-u",
        "--user",
        "-g",
        "--group",
    }
)
_APP_WORD = re.compile(r"^[A-Za-z_][\w.]*(?::[A-Za-z_]\w*(?:\(.*\))?)?$")
_PORT_PATTERNS = (
    re.compile(r"manage\.py['\"]?\s+runserver(?:_plus)?\s+(?:['\"]?[^\s'\"]*:)?(\d+)(?=$|[\s'\"])"),
    re.compile(r"(?:^|\s)(?:-b|--bind)[=\s]+['\"]?(?:[^\s'\"]*:)(\d+)(?=$|[\s'\"])"),
    re.compile(r"(?:^|\s)(?:-p|--port)[=\s]+['\"]?(\d+)(?=$|[\s'\"])"),
)
_SERVES = re.compile(r"\b(gunicorn|uvicorn|daphne|hypercorn|granian|runserver|flask|waitress)\b")


def bound_port(command: str) -> int | None:
    """The port a server command line listens on when it names a number (`--bind
    0.0.0.0:5000`, `-b :8000`, `--port 80`, `manage.py runserver 0.0.0.0:8000`); None when it
    names none or takes it from a variable."""
    if not _SERVES.search(command):
        return None
    for pattern in _PORT_PATTERNS:
        match = pattern.search(command)
        if match:
            return int(match[1])
    return None


def served_app(command: str) -> str | None:
    """The app a gunicorn/uvicorn/daphne/hypercorn command line serves (`config.wsgi`,
    `app:app`, `main:create_app()`), as written; None for other commands."""
    tokens = words(command)
    if len(tokens) >= 3 and os.path.basename(tokens[0]).startswith("python") and tokens[1] == "-m":
        tokens = tokens[2:]
    if not tokens or os.path.basename(tokens[0]) not in (
        "gunicorn",
        "uvicorn",
        "daphne",
        "hypercorn",
    ):
        return None
    skip = False
    for token in tokens[1:]:
        if skip:
            skip = False
        elif token.startswith("-"):
            skip = token in _VALUE_OPTIONS
        elif _APP_WORD.match(token) and (":" in token or "." in token):
            return token
        elif token in ("&&", ";", "|"):
            return None
    return None
