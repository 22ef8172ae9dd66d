"""Detect: turn a checked-out repository into a build `Plan`, without running any of its code.

Precedence, highest first: the project's overrides; the repository's own
Dockerfile (built as is); a Procfile `web:` line; inference (Django, then
Flask/FastAPI/Starlette). Every decision is recorded as evidence, every
production pitfall as a warning. See `builds.pipeline.detection` for the parts.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path

from builds.pipeline.detection import flask_fastapi, readiness, servers
from builds.pipeline.detection.django import detect_django
from builds.pipeline.detection.errors import DetectionError
from builds.pipeline.detection.gunicorn_conf import read_gunicorn_conf
from builds.pipeline.detection.health import find_health_path
from builds.pipeline.detection.layout import nothing_found
from builds.pipeline.detection.native import add_system_packages
from builds.pipeline.detection.own_dockerfile import parse as parse_dockerfile
from builds.pipeline.detection.packages import PIP_INSTALL, Dependencies, detect_dependencies
from builds.pipeline.detection.procfile import read_procfile
from builds.pipeline.detection.python_version import (
    default_python,
    find_python_spec,
    resolve_python_version,
)
from builds.pipeline.detection.requirements import normalize
from builds.pipeline.detection.tree import Tree
from builds.pipeline.detection.webapp import App
from builds.pipeline.image_guard import ImagePolicy, first_refusal
from builds.pipeline.plan import FRAMEWORK_CHOICES, Evidence, Overrides, Plan

__all__ = ["DetectionError", "detect_plan"]
ASGI_FRAMEWORKS = ("fastapi", "starlette", "quart", "litestar")
# Files whose content decides how the app is built: one that cannot be read refuses the build.
BUILD_FILES = (
    "Dockerfile",
    ".dockerignore",
    "Procfile",
    "requirements.txt",
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "Pipfile",
    "Pipfile.lock",
    "poetry.lock",
    "uv.lock",
    ".python-version",
    "runtime.txt",
)


def detect_plan(
    root: Path,
    overrides: Overrides | None = None,
    *,
    available_pythons: Sequence[str] = ("3.11",),
    build_args: Mapping[str, str] | None = None,
    image_policy: ImagePolicy | None = None,
) -> Plan:
    """The plan for the app at `root`; raises DetectionError when nothing deployable is found,
    an override names something absent, the requested Python is not available, an own
    Dockerfile names an image it may not (resolved with `build_args`, see image_guard), or a
    kept SQLite database lies outside the app's folder."""
    overrides = overrides or Overrides()
    if overrides.framework not in FRAMEWORK_CHOICES:
        raise DetectionError(
            f"Unknown framework setting {overrides.framework!r}. "
            f"Choose one of: {', '.join(FRAMEWORK_CHOICES)}."
        )
    if not Path(root).is_dir():
        raise DetectionError(
            f"The app root {str(root)!r} is not a folder of the repository. "
            "Fix the project's app root directory setting."
        )
    tree = Tree(Path(root))
    _refuse_unreadable(tree, (*BUILD_FILES, overrides.requirements_file or "requirements.txt"))
    plan = Plan(has_dockerignore=tree.is_file(".dockerignore"))
    if overrides.framework == "dockerfile" or (
        overrides.framework == "auto" and tree.is_file("Dockerfile")
    ):
        return _own_dockerfile(tree, plan, build_args or {}, image_policy or ImagePolicy())
    _choose_python(tree, plan, overrides, available_pythons)
    deps = detect_dependencies(tree, plan, overrides.requirements_file)
    plan.package_manager, plan.dependency_files = deps.manager, list(deps.files)
    plan.install_needs_source = deps.needs_source
    app = _find_app(tree, plan, deps, overrides)
    _choose_start(tree, plan, deps, app, overrides)
    plan.install_steps = list(deps.steps)
    if plan.extra_packages:
        plan.install_steps.append(
            f"{PIP_INSTALL} {' '.join(map(shlex.quote, plan.extra_packages))}"
        )
    deps.names.update(normalize(re.sub(r"\[.*", "", package)) for package in plan.extra_packages)
    add_system_packages(plan, deps, list(overrides.system_packages))
    _choose_health(tree, plan, overrides, app)
    plan.evidence.extend(tree.skipped)
    return plan


def _refuse_unreadable(tree: Tree, names) -> None:
    """A file that decides the build but is a link out of the repository or no regular file
    (a FIFO, a device) is refused, rather than the build quietly going without it."""
    for name in names:
        why = tree.refusal(name)
        if why:
            raise DetectionError(
                f"{why}; Deployer reads only regular files inside the repository. Commit the "
                "file itself, or remove it."
            )


def _own_dockerfile(
    tree: Tree, plan: Plan, build_args: Mapping[str, str], policy: ImagePolicy
) -> Plan:
    text = tree.read_text("Dockerfile")
    if text is None:
        raise DetectionError(
            "The framework setting is 'dockerfile' but no readable Dockerfile is at the app root "
            "(missing, larger than 1 MB or binary). Add one, or set the framework to 'auto'."
        )
    plan.kind, plan.framework, plan.dockerfile_path = "dockerfile", "dockerfile", "Dockerfile"
    plan.note("Dockerfile", None, "the repository's own Dockerfile is built as is")
    parsed = parse_dockerfile(text, build_args)
    refused = first_refusal(parsed, "Dockerfile", policy, build_args)
    if refused:
        raise DetectionError(refused)
    if not parsed.base_images:
        raise DetectionError(
            "The Dockerfile has no FROM line naming a base image. Fix the Dockerfile."
        )
    for image, line in parsed.base_images:
        plan.base_images.append(image)
        plan.note("Dockerfile", line, f"base image {image}")
    plan.image_user = parsed.user
    if parsed.user:
        plan.note("Dockerfile", None, f"the final stage runs as USER {parsed.user}")
    port = parsed.exposed_port
    if port:
        plan.port = port
        plan.note("Dockerfile", None, f"EXPOSE {port}: the container is expected to listen there")
    if tree.is_file("Procfile"):
        plan.note("Procfile", None, "ignored: the Dockerfile takes precedence")
    plan.evidence.extend(tree.skipped)
    return plan


def _choose_python(tree: Tree, plan: Plan, overrides: Overrides, available: Sequence[str]) -> None:
    if overrides.python_version:
        found: tuple[str, Evidence | None] | None = (overrides.python_version, None)
    else:
        found = find_python_spec(tree)
    if found is None:
        plan.python_version = default_python(available)
        plan.note(
            None, None, f"no Python version requested: using the default {plan.python_version}"
        )
        return
    spec, evidence = found
    plan.python_spec = spec
    plan.python_version = resolve_python_version(spec, evidence, available)
    where = evidence or Evidence(None, None, f"Python {spec} set in the project settings")
    plan.note(where.file, where.line, f"{where.message}: using Python {plan.python_version}")


def _find_app(tree: Tree, plan: Plan, deps: Dependencies, overrides: Overrides) -> App | None:
    framework = overrides.framework
    soft = framework in ("procfile", "command") or (
        framework == "auto" and (overrides.start_command or tree.is_file("Procfile"))
    )
    try:
        app = _app(tree, plan, deps, overrides)
    except DetectionError as exc:
        if not soft:
            raise
        plan.note(None, None, f"no app inferred (the start command does not need one): {exc}")
        app = None
    if app is None and framework in ("django", "flask", "fastapi"):
        raise DetectionError(
            f"The framework setting is {framework!r} but no {framework} app was found. "
            "Set the project's entry point (e.g. myapp.main:app), or set the framework to 'auto'."
        )
    if app:
        plan.framework, plan.entrypoint = app.framework, app.entrypoint
        plan.release_command, plan.static_command = app.release_command, app.static_command
        plan.env.update(app.env)
        plan.note(
            app.file,
            app.line,
            f"{app.framework} app, {app.interface.upper()} entry point {app.entrypoint}",
        )
        if app.framework != "django" and app.file:
            _check_app_module(tree, plan, app.file)
    elif deps.names:
        plan.framework = next((f for f in ("django", "flask", "fastapi") if deps.has(f)), "unknown")
    return app


def _app(tree: Tree, plan: Plan, deps: Dependencies, overrides: Overrides) -> App | None:
    framework = overrides.framework
    app = None
    if framework in ("django", "auto", "procfile", "command"):
        app = detect_django(tree, plan, deps, keep_sqlite=overrides.keep_sqlite)
    if overrides.entrypoint:
        plan.note(None, None, f"entry point {overrides.entrypoint} set in the project settings")
        if app:
            app.entrypoint = overrides.entrypoint
            app.interface = "asgi" if "asgi" in overrides.entrypoint else "wsgi"
            return app
        found = flask_fastapi.app_from_entrypoint(tree, overrides.entrypoint)
        if found is None:
            raise DetectionError(
                f"The entry point {overrides.entrypoint!r} set for this project names a module "
                "that is not in the repository. Fix the project's entry point setting."
            )
        return found
    if app or framework == "django":
        return app
    setting = flask_fastapi.flask_app_setting(tree)
    if setting:
        found = flask_fastapi.app_from_entrypoint(tree, setting[0])
        if found:
            plan.note(setting[1], setting[2], f"FLASK_APP={setting[0]}")
            return found
    wanted = {"flask": ("flask",), "fastapi": ASGI_FRAMEWORKS}.get(framework)
    candidates = flask_fastapi.find_apps(tree, frameworks=wanted)
    for other in candidates[1:4]:
        plan.note(
            other.file,
            other.line,
            f"also found {other.framework} app {other.entrypoint} (not used)",
        )
    return candidates[0] if candidates else None


def _check_app_module(tree: Tree, plan: Plan, file: str) -> None:
    folder = file.rpartition("/")[0]
    for rel in (file, *(f"{folder}/{n}".lstrip("/") for n in ("config.py", "settings.py"))):
        module = tree.parse_python(rel) if tree.is_file(rel) else None
        if module:
            readiness.check_module(plan, module, rel)


def _choose_start(
    tree: Tree, plan: Plan, deps: Dependencies, app: App | None, overrides: Overrides
) -> None:
    procfile = read_procfile(tree.read_text("Procfile"))
    use_procfile = overrides.framework in ("auto", "procfile") and "web" in procfile
    if overrides.start_command:
        plan.start_command = overrides.start_command.strip()
        plan.note(None, None, "start command set in the project settings")
    elif use_procfile:
        plan.kind = "procfile"
        _from_procfile(plan, procfile, app)
    elif overrides.framework == "procfile":
        raise DetectionError(
            "The framework setting is 'procfile' but there is no Procfile with a web: line. "
            "Add one (web: gunicorn myapp.wsgi), or set the framework to 'auto'."
        )
    elif overrides.framework == "command":
        raise DetectionError(
            "The framework setting is 'command' but the start command setting is empty. "
            "Set the project's start command."
        )
    elif app:
        conf = read_gunicorn_conf(tree, plan)
        plan.start_command = servers.gunicorn_command(
            app,
            workers=not (conf and conf.sets_workers),
            worker_class=not (conf and conf.sets_worker_class),
        )
        server = (
            "gunicorn with uvicorn workers (ASGI)" if app.interface == "asgi" else "gunicorn (WSGI)"
        )
        plan.note(None, None, f"served by {server} on 0.0.0.0:$PORT, workers from WEB_CONCURRENCY")
    else:
        raise nothing_found(tree)
    if plan.kind == "procfile" or overrides.start_command:
        _check_command(tree, plan)
    extras = servers.missing_packages(plan.start_command, deps, channels=deps.has("channels"))
    for package in extras:
        plan.extra_packages.append(package)
        plan.note(None, None, f"{package} is not among the dependencies: installed in addition")


def _from_procfile(plan: Plan, procfile: dict, app: App | None) -> None:
    web = procfile["web"]
    plan.start_command = web.command
    plan.note(
        "Procfile", web.line, "web process from the Procfile (takes precedence over inference)"
    )
    plan.release_command = None
    split = servers.split_chained(web.command)
    if split:
        plan.release_command, plan.start_command = split
        plan.note(
            "Procfile",
            web.line,
            f"web line chains commands: {split[0]!r} runs once per "
            "deploy as the release command, the server as the web process",
        )
    if "release" in procfile:
        release = procfile["release"]
        plan.release_command = " && ".join(filter(None, [plan.release_command, release.command]))
        plan.note("Procfile", release.line, "release command from the Procfile")
    elif app and app.release_command and not split:
        plan.note(
            "Procfile",
            None,
            "no release: line, so migrations are not run on deploy "
            f"(add `release: {app.release_command}`)",
        )


def _check_command(tree: Tree, plan: Plan) -> None:
    file = "Procfile" if plan.kind == "procfile" else None
    dev = servers.dev_server(tree, plan.start_command)
    if dev:
        plan.warn(
            "dev-server",
            f"The web process runs {dev}, a development server: slow, "
            "single-threaded and not hardened. Use gunicorn (or uvicorn workers).",
            file,
        )
    problem = servers.port_problem(plan.start_command)
    if problem:
        plan.warn("no-port-binding", f"{problem}.", file)
    if not servers.server_of(plan.start_command) and not dev:
        plan.note(file, None, "the web command is not a server this platform recognises; run as is")


def _choose_health(tree: Tree, plan: Plan, overrides: Overrides, app: App | None) -> None:
    if overrides.health_path:
        plan.health_path = "/" + overrides.health_path.lstrip("/")
        plan.note(None, None, f"health check path {plan.health_path} set in the project settings")
        return
    found = find_health_path(tree, app)
    if found:
        plan.health_path, evidence = found
        plan.evidence.append(evidence)
        return
    plan.warn(
        "no-health-endpoint",
        "No health-check route found (/health, /healthz, /ping, "
        "/status): the health check requests / instead. Add a cheap route that does not "
        "need the database, or set the project's health path.",
    )
