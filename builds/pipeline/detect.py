"""Detect: turn a checked-out repository into a build `Plan`, without running any of its code.

Precedence, highest first: the app's deployer.toml; the project's overrides; the
repository's own Dockerfile (built as is); a Procfile `web:` line; inference (Django, then
Flask/FastAPI/Starlette). Every decision is recorded as evidence, every
production pitfall as a warning. See `builds.pipeline.detection` for the parts.
"""

from __future__ import annotations

import os
import posixpath
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from builds.pipeline.detection import deployer_toml, flask_fastapi, readiness, servers
from builds.pipeline.detection.django import detect_django
from builds.pipeline.detection.errors import DetectionError
from builds.pipeline.detection.gunicorn_conf import read_gunicorn_conf
from builds.pipeline.detection.health import find_health_path
from builds.pipeline.detection.installer import PIP_INSTALL, UV_INSTALL, uv_install
from builds.pipeline.detection.layout import app_one_down, dependency_files, nothing_found
from builds.pipeline.detection.native import add_system_packages
from builds.pipeline.detection.own_dockerfile import ParsedDockerfile
from builds.pipeline.detection.own_dockerfile import parse as parse_dockerfile
from builds.pipeline.detection.own_image import OwnImage, image_path_of, read_own_image
from builds.pipeline.detection.packages import Dependencies, detect_dependencies
from builds.pipeline.detection.procfile import other_processes, read_procfile
from builds.pipeline.detection.python_version import (
    default_python,
    find_python_spec,
    resolve_python_version,
)
from builds.pipeline.detection.requirements import normalize
from builds.pipeline.detection.sqlite import APP_DIR
from builds.pipeline.detection.tree import RefusedPath, Tree, app_root
from builds.pipeline.detection.versionspec import SpecError, minor_allowed, parse_minor
from builds.pipeline.detection.webapp import App
from builds.pipeline.image_guard import ImagePolicy, first_refusal
from builds.pipeline.plan import (
    BUILDER_CHOICES,
    DEFAULT_PORT,
    FRAMEWORK_CHOICES,
    Evidence,
    Overrides,
    Plan,
)

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
    repository_root: Path | None = None,
) -> Plan:
    """The plan for the app at `root`; raises DetectionError when `root`'s deployer.toml is
    invalid (naming its line and key), nothing deployable is found,
    several apps are found one folder down, an override names something absent, the
    requested Python is not available, an own Dockerfile names an image it may not (resolved
    with `build_args`, see image_guard), or a kept SQLite database lies outside the app's folder.

    `repository_root` is the checkout `root` lies in (the app root setting's folder): when
    `root` holds no dependency or Python file and the repository root does, those are used
    and `plan.app_dir` says where the app is (the build context is then the repository root).
    """
    overrides = overrides or Overrides()
    if overrides.framework not in FRAMEWORK_CHOICES:
        raise DetectionError(
            f"Unknown framework setting {overrides.framework!r}. "
            f"Choose one of: {', '.join(FRAMEWORK_CHOICES)}."
        )
    if overrides.builder not in BUILDER_CHOICES:
        raise DetectionError(
            f"Unknown builder setting {overrides.builder!r}. "
            f"Choose one of: {', '.join(BUILDER_CHOICES)}."
        )
    if not Path(root).is_dir():
        raise DetectionError(
            f"The app root {str(root)!r} is not a folder of the repository. "
            "Fix the project's app root directory setting."
        )
    tree = Tree(Path(root))
    config = deployer_toml.read(tree)
    _refuse_unreadable(tree, (*BUILD_FILES, overrides.requirements_file or "requirements.txt"))
    plan = Plan(has_dockerignore=tree.is_file(".dockerignore"))
    parsed = image = None
    if _builds_own_dockerfile(tree, plan, overrides):
        parsed = _own_dockerfile(tree, plan, build_args or {}, image_policy or ImagePolicy())
        image = read_own_image(tree, parsed)
        overrides = replace(overrides, framework="auto")  # the app is analysed all the same
    files = tree if parsed else _dependency_tree(tree, plan, repository_root)
    # Named from the build context: the repository root when its files are used.
    config_file = deployer_toml.FILE if files is tree else f"{plan.app_dir}/{deployer_toml.FILE}"
    overrides, sources = deployer_toml.apply(config, overrides, config_file)
    if image is None:
        _choose_python(files, plan, overrides, available_pythons, sources)
    else:
        _choose_own_python(files, plan, overrides, available_pythons, image, sources)
    deps = detect_dependencies(files, plan, overrides.requirements_file)
    plan.package_manager, plan.dependency_files = deps.manager, list(deps.files)
    plan.install_needs_source = deps.needs_source
    plan.installer, plan.public_pypi = deps.installer, deps.public_pypi
    marks = len(plan.evidence), len(plan.warnings)
    app_tree, app, below = _find_app(
        tree, plan, deps, overrides, own=parsed is not None, look_below=files is tree
    )
    if below and parsed is None:
        plan.app_dir = below
    if parsed is None:
        _choose_start(app_tree, plan, deps, app, overrides, sources)
    _choose_health(app_tree, plan, overrides, app, sources)
    prefix = below or plan.app_dir
    if prefix:
        _rebase(plan, prefix, marks)
    if parsed is not None and image is not None:
        _follow_own_image(tree, plan, parsed, image, app, prefix, deps)
    else:
        _install(plan, deps, overrides)
    _choose_release(plan, overrides, sources)
    if config is not None:
        deployer_toml.record(plan, config, sources, config_file)
    plan.evidence.extend(files.skipped if files is not tree else [])
    plan.evidence.extend(tree.skipped)
    if app_tree is not tree:
        plan.evidence.extend(_rebased(app_tree.skipped, prefix))
    return plan


def _install(plan: Plan, deps: Dependencies, overrides: Overrides) -> None:
    plan.install_steps = list(deps.steps)
    if plan.extra_packages:
        packages = " ".join(map(shlex.quote, plan.extra_packages))
        last = plan.install_steps[-1] if plan.install_steps else ""
        if (
            plan.installer == "uv"
            and last.startswith(UV_INSTALL)
            and "--require-hashes" not in last
        ):
            # One resolution and one bytecode pass instead of two (about 0.5 s); a hash-checked
            # install cannot take packages without hashes, so those go in a step of their own.
            plan.install_steps[-1] = f"{last} {packages}"
        elif plan.installer == "uv":
            plan.install_steps.append(uv_install(packages))
        else:
            plan.install_steps.append(f"{PIP_INSTALL} {packages}")
    deps.names.update(normalize(re.sub(r"\[.*", "", package)) for package in plan.extra_packages)
    add_system_packages(plan, deps, list(overrides.system_packages))


def _choose_release(plan: Plan, overrides: Overrides, sources: deployer_toml.Sources) -> None:
    if overrides.release_command and overrides.release_command.strip():
        plan.release_command = overrides.release_command.strip()
        _note_setting(
            plan, sources, "release_command", "release command set in the project settings"
        )


def _note_setting(plan: Plan, sources: deployer_toml.Sources, name: str, message: str) -> None:
    """Note a setting that won over detection: deployer.toml's are noted by `deployer_toml.record`."""
    if name not in sources:
        plan.note(None, None, message)


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


def _builds_own_dockerfile(tree: Tree, plan: Plan, overrides: Overrides) -> bool:
    """True when the repository's own Dockerfile is what gets built (see BUILDER_CHOICES)."""
    if overrides.builder == "generated":
        if overrides.framework == "dockerfile":
            raise DetectionError(
                "The builder setting is 'generated' but the framework setting is 'dockerfile'. "
                "Set the framework to 'auto' to have Deployer generate the Dockerfile, or the "
                "builder to 'dockerfile' to build the repository's own."
            )
        if tree.is_file("Dockerfile"):
            plan.note(
                "Dockerfile",
                None,
                "set aside by the project's builder setting 'generated': Deployer generates "
                "the Dockerfile from the plan",
            )
        return False
    if overrides.builder == "dockerfile" or overrides.framework == "dockerfile":
        if not tree.is_file("Dockerfile") or tree.read_text("Dockerfile") is None:
            setting = "builder" if overrides.builder == "dockerfile" else "framework"
            raise DetectionError(
                f"The {setting} setting is 'dockerfile' but no readable Dockerfile is at the app "
                "root (missing, larger than 1 MB or binary). Add one, or set the "
                f"{setting} to 'auto'."
            )
        return True
    return tree.is_file("Dockerfile")


def _own_dockerfile(
    tree: Tree, plan: Plan, build_args: Mapping[str, str], policy: ImagePolicy
) -> ParsedDockerfile:
    """The repository's Dockerfile, parsed and checked: the image guard, base images, USER."""
    text = tree.read_text("Dockerfile")
    if text is None:
        raise DetectionError(
            "The repository's Dockerfile cannot be read (larger than 1 MB or binary). "
            "Fix it, or set the project's builder to 'generated'."
        )
    plan.kind, plan.dockerfile_path = "dockerfile", "Dockerfile"
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
    if tree.is_file("Procfile"):
        plan.note("Procfile", None, "ignored: the Dockerfile takes precedence")
    return parsed


def _choose_python(
    tree: Tree,
    plan: Plan,
    overrides: Overrides,
    available: Sequence[str],
    sources: deployer_toml.Sources,
) -> None:
    if overrides.python_version:
        found: tuple[str, Evidence | None] | None = (
            overrides.python_version,
            sources.get("python_version"),
        )
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


def _find_app(
    tree: Tree,
    plan: Plan,
    deps: Dependencies,
    overrides: Overrides,
    *,
    own: bool = False,
    look_below: bool = True,
) -> tuple[Tree, App | None, str]:
    """(the tree the app is in, the app or None, its folder below `tree` or "").

    With nothing at the root, one app one folder down that relies on the root's dependency
    files is taken from there (`layout.app_one_down`). For an own Dockerfile (`own`) an app
    that cannot be inferred is a note, not a refusal: the Dockerfile says how to run it.
    """
    framework = overrides.framework
    soft = (
        own
        or framework in ("procfile", "command")
        or (framework == "auto" and bool(overrides.start_command or tree.is_file("Procfile")))
    )
    below = ""
    try:
        app = _app(tree, plan, deps, overrides, own)
        if app is None and look_below and not overrides.entrypoint and (own or not soft):
            found = app_one_down(tree)
            if found:
                below, root_files = found
                tree = Tree(app_root(tree.root, below))
                plan.note(
                    None,
                    None,
                    f"app found in {below}/; dependencies and Python from the repository root "
                    f"({', '.join(root_files)}); {below}/ is the app's working directory",
                )
                app = _app(tree, plan, deps, overrides, own)
    except (DetectionError, RefusedPath) as exc:
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
    return tree, app, below


def _dependency_tree(tree: Tree, plan: Plan, repository_root: Path | None) -> Tree:
    """The tree to read dependency and Python files from: the app root's, or the repository
    root's when only it has them (then `plan.app_dir` is the app root below it)."""
    if repository_root is None:
        return tree
    top = Tree(Path(repository_root))
    below = os.path.relpath(tree.root, top.root)
    if below == "." or below.startswith("..") or dependency_files(tree):
        return tree
    found = dependency_files(top)
    if not found:
        return tree
    _refuse_unreadable(top, BUILD_FILES)
    plan.app_dir = below.replace(os.sep, "/")
    plan.note(
        plan.app_dir,
        None,
        f"app root {plan.app_dir}/ has no dependency or Python file: those of the repository "
        f"root are used ({', '.join(found)}), with the repository root as the build context",
    )
    return top


def _rebase(plan: Plan, prefix: str, marks: tuple[int, int]) -> None:
    """Name the files of the app's folder from the repository root in what was recorded
    since `marks` (evidence, warnings), and place its SQLite databases and src/ in it."""
    evidence, warnings = marks
    plan.evidence[evidence:] = _rebased(plan.evidence[evidence:], prefix)
    plan.warnings[warnings:] = [
        replace(w, file=_under(prefix, w.file)) for w in plan.warnings[warnings:]
    ]
    plan.variables = [replace(v, file=_under(prefix, v.file) or v.file) for v in plan.variables]
    plan.sqlite_databases = [
        posixpath.join(APP_DIR, prefix, path[len(APP_DIR) + 1 :]) for path in plan.sqlite_databases
    ]
    if plan.env.get("PYTHONPATH", "").startswith(APP_DIR + "/"):
        plan.env["PYTHONPATH"] = posixpath.join(APP_DIR, prefix, plan.env["PYTHONPATH"][5:])


def _rebased(items: list[Evidence], prefix: str) -> list[Evidence]:
    return [replace(item, file=_under(prefix, item.file)) for item in items]


def _under(prefix: str, file: str | None) -> str | None:
    return f"{prefix}/{file}" if file else file


def _app(
    tree: Tree, plan: Plan, deps: Dependencies, overrides: Overrides, own: bool = False
) -> App | None:
    framework = overrides.framework
    app = None
    if framework in ("django", "auto", "procfile", "command"):
        app = detect_django(tree, plan, deps, keep_sqlite=overrides.keep_sqlite, own_image=own)
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


def _choose_own_python(
    tree: Tree,
    plan: Plan,
    overrides: Overrides,
    available: Sequence[str],
    image: OwnImage,
    sources: deployer_toml.Sources,
) -> None:
    """The Python of the own Dockerfile's final image when its name tells, else the app's;
    a warning when the image's does not satisfy what the app asks for."""
    if image.python is None:
        if image.python_evidence:
            plan.evidence.append(image.python_evidence)
        try:
            _choose_python(tree, plan, overrides, available, sources)
        except DetectionError as exc:
            plan.note(None, None, f"the app's Python is not one of this platform's: {exc}")
        return
    plan.python_version = image.python
    if image.python_evidence:
        plan.evidence.append(image.python_evidence)
    if overrides.python_version:
        asked = sources.get("python_version")
        what = asked.message if asked else "the project's Python version setting"
        plan.note(
            asked.file if asked else None,
            asked.line if asked else None,
            f"{what} ({overrides.python_version}) does not change the image an own Dockerfile "
            "builds on",
        )
    found = find_python_spec(tree)
    if found is None:
        return
    spec, evidence = found
    plan.python_spec = spec
    try:
        satisfied = minor_allowed(spec, parse_minor(image.python))
    except SpecError:
        return
    if not satisfied:
        where = f"{evidence.file} line {evidence.line}" if evidence.line else evidence.file
        plan.warn(
            "dockerfile-python",
            f"The Dockerfile builds on Python {image.python}, but the app asks for Python "
            f"{spec} ({where}). Change the FROM line, or the app's Python requirement.",
            "Dockerfile",
            image.python_evidence.line if image.python_evidence else None,
        )


def _follow_own_image(
    tree: Tree,
    plan: Plan,
    parsed: ParsedDockerfile,
    image: OwnImage,
    app: App | None,
    app_folder: str,
    deps: Dependencies,
) -> None:
    """Fill in what the own image runs: its entry point, port, dev-server warnings and
    whether the deploy still needs a release command. The image keeps its own environment
    and collects its own static files."""
    plan.env, plan.static_command = {}, None
    if deps.manager == "none":
        plan.warnings = [w for w in plan.warnings if w.code != "no-dependencies"]
        plan.note(None, None, "no dependency manifest: the Dockerfile installs what it needs")
    for command in image.commands[:1]:
        plan.note(command.file, command.line, f"the image starts with {command.text}")
    if image.served_app:
        served, command = image.served_app
        if served != plan.entrypoint:
            plan.entrypoint = served
            plan.note(command.file, command.line, f"the image serves {served}")
    for command in image.commands:
        dev = servers.dev_server(tree, command.text)
        if dev:
            plan.warn(
                "dev-server",
                f"The image starts {dev}, a development server: slow, single-threaded and not "
                "hardened. Start gunicorn (or uvicorn workers) in the Dockerfile's CMD.",
                command.file,
                command.line,
            )
            break
    _own_port(plan, image)
    _own_release(tree, plan, parsed, image, app, app_folder)


def _own_port(plan: Plan, image: OwnImage) -> None:
    exposed = image.exposed_port
    if image.port and image.bound_port:
        plan.port = image.port
        where = image.bound_port
        plan.note(where.file, where.line, f"the server binds port {image.port}")
        if exposed and exposed != image.port:
            plan.warn(
                "port-mismatch",
                f"The Dockerfile EXPOSEs {exposed} but the server binds {image.port}: "
                f"traffic goes to {image.port}. Make them agree.",
                where.file,
                where.line,
            )
    elif exposed:
        plan.port = exposed
        plan.note(
            "Dockerfile", None, f"EXPOSE {exposed}: the container is expected to listen there"
        )
    else:
        plan.port = DEFAULT_PORT
        plan.note(
            "Dockerfile",
            None,
            f"no EXPOSE and no port in the start command: port {DEFAULT_PORT} assumed",
        )


def _own_release(
    tree: Tree,
    plan: Plan,
    parsed: ParsedDockerfile,
    image: OwnImage,
    app: App | None,
    app_folder: str,
) -> None:
    """A Django app's migrate, run in the built image once per deploy, unless the image
    already runs it when it starts."""
    if not (app and app.framework == "django" and plan.release_command):
        return
    if image.migrates:
        plan.release_command = None
        plan.note(
            image.migrates.file,
            image.migrates.line,
            "the image runs migrate when it starts: no release command, so migrations do not "
            "run twice",
        )
        return
    manage = posixpath.join(app_folder, "manage.py")
    path = image_path_of(tree, parsed.final, manage) if parsed.final else None
    if path and path != posixpath.join(image.workdir, "manage.py"):
        plan.release_command = f"python {shlex.quote(path)} migrate --noinput"
        plan.note("Dockerfile", None, f"{manage} is copied to {path} in the image")
    plan.note(
        "Dockerfile",
        None,
        f"release command `{plan.release_command}` runs in the built image (working "
        f"directory {image.workdir}) before it goes live",
    )


def _check_app_module(tree: Tree, plan: Plan, file: str) -> None:
    folder = file.rpartition("/")[0]
    for rel in (file, *(f"{folder}/{n}".lstrip("/") for n in ("config.py", "settings.py"))):
        module = tree.parse_python(rel) if tree.is_file(rel) else None
        if module:
            readiness.check_module(plan, module, rel)


def _choose_start(
    tree: Tree,
    plan: Plan,
    deps: Dependencies,
    app: App | None,
    overrides: Overrides,
    sources: deployer_toml.Sources,
) -> None:
    procfile = read_procfile(tree.read_text("Procfile"))
    use_procfile = overrides.framework in ("auto", "procfile") and "web" in procfile
    for name, line in other_processes(procfile).items():
        plan.processes[name] = line.command
        plan.note("Procfile", line.line, f"{name} process from the Procfile: its own container")
    if overrides.start_command:
        plan.start_command = overrides.start_command.strip()
        _note_setting(plan, sources, "start_command", "start command set in the project settings")
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


def _choose_health(
    tree: Tree, plan: Plan, overrides: Overrides, app: App | None, sources: deployer_toml.Sources
) -> None:
    if overrides.health_path:
        plan.health_path = "/" + overrides.health_path.lstrip("/")
        _note_setting(
            plan,
            sources,
            "health_path",
            f"health check path {plan.health_path} set in the project settings",
        )
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
