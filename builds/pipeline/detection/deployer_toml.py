"""`deployer.toml`: the app's own settings, read from the app root, never run.

Optional. What it sets wins over detection and over the project's settings; what it leaves
out is decided as before. Every key and type is checked: a file Deployer does not fully
understand fails detection (before any build) with the line and key at fault.

    [build]
    python = "3.12"                       # same availability rules as .python-version
    [deploy]
    health_path = "/up"
    release = "python manage.py migrate --noinput"
    start = "gunicorn mysite.wsgi"        # or [processes] web, not both
    watch = ["src/", "requirements.txt"]  # pushes touching none of these do not deploy
    [processes]
    web = "gunicorn mysite.wsgi"
    worker = "celery -A mysite worker"
    [cron]
    cleanup = { schedule = "0 3 * * *", command = "python manage.py clearsessions" }
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from typing import Any

from django.core.exceptions import ValidationError

from builds.pipeline.detection.errors import DetectionError
from builds.pipeline.detection.tree import RefusedPath, Tree
from builds.pipeline.plan import CronJob, Evidence, Overrides, Plan
from projects.validators import validate_health_check_path

FILE = "deployer.toml"
SECTIONS = {
    "build": ("python",),
    "deploy": ("health_path", "release", "start", "watch"),
    "processes": None,  # any process name
    "cron": None,  # any job name
}
NAME = re.compile(r"^[a-z][a-z0-9_-]{0,29}$")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
TOML_ERROR = re.compile(r"^(?P<what>.*) \(at line (?P<line>\d+), column (?P<column>\d+)\)$")
KEY = re.compile(r"""^\s*(?:"([^"]*)"|'([^']*)'|([A-Za-z0-9_.-]+))\s*=""")
HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\"' -]+?)\s*\]\]?\s*(#.*)?$")
MAX_WATCH = 50
MAX_COMMAND = 1000
# The five cron fields: (name, lowest, highest, names allowed for values).
CRON_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    (
        "month",
        1,
        12,
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
    ),
    ("day of week", 0, 7, ("sun", "mon", "tue", "wed", "thu", "fri", "sat")),
)


@dataclass(frozen=True)
class Setting:
    """One value the file set, with the line that set it."""

    value: Any
    line: int | None


@dataclass
class DeployerToml:
    """What a valid deployer.toml says (absent keys are None or empty)."""

    python: Setting | None = None
    health_path: Setting | None = None
    release: Setting | None = None
    start: Setting | None = None  # [deploy] start or [processes] web
    watch: Setting | None = None
    processes: dict[str, str] = field(default_factory=dict)
    process_lines: dict[str, int | None] = field(default_factory=dict)
    cron: list[CronJob] = field(default_factory=list)


def read(tree: Tree) -> DeployerToml | None:
    """The app root's deployer.toml, validated; None when there is none.

    Raises DetectionError naming the line and key at fault for a file that is unreadable,
    not TOML, or holds a section, key, type or value Deployer does not accept.
    """
    try:
        text = tree.require_text(FILE)
    except RefusedPath as exc:
        raise DetectionError(f"{exc} Commit {FILE} itself, or remove it.") from None
    if text is None:
        return None
    return parse(text)


def parse(text: str) -> DeployerToml:
    """`text` as a deployer.toml; raises DetectionError (see `read`)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = TOML_ERROR.match(str(exc))
        if match:
            raise DetectionError(
                f"{FILE} line {match['line']}: not valid TOML ({match['what'].lower()}, "
                f"column {match['column']})."
            ) from None
        raise DetectionError(f"{FILE}: not valid TOML ({exc}).") from None
    lines = _Lines(text)
    config = DeployerToml()
    for section, value in data.items():
        if section not in SECTIONS:
            hint = " (put it under [deploy])" if section == "watch" else ""
            raise _error(
                lines.of(section),
                f"unknown key {section!r}{hint}; the sections are "
                f"{', '.join(f'[{name}]' for name in SECTIONS)}",
            )
        if not isinstance(value, dict):
            raise _error(lines.of(section), f"{section} must be a [{section}] section")
        allowed = SECTIONS[section]
        for key in value:
            if allowed is not None and key not in allowed:
                raise _error(
                    lines.of(section, key),
                    f"unknown key {key!r} in [{section}]; it takes {', '.join(allowed)}",
                )
    build, deploy = data.get("build", {}), data.get("deploy", {})
    if "python" in build:
        line = lines.of("build", "python")
        config.python = Setting(_text(build["python"], "[build] python", line), line)
    if "health_path" in deploy:
        line = lines.of("deploy", "health_path")
        path = _text(deploy["health_path"], "[deploy] health_path", line)
        try:
            validate_health_check_path(path)
        except ValidationError as exc:
            raise _error(line, f"[deploy] health_path: {exc.messages[0]}") from None
        config.health_path = Setting(path, line)
    if "release" in deploy:
        line = lines.of("deploy", "release")
        config.release = Setting(_command(deploy["release"], "[deploy] release", line), line)
    if "start" in deploy:
        line = lines.of("deploy", "start")
        config.start = Setting(_command(deploy["start"], "[deploy] start", line), line)
    if "watch" in deploy:
        line = lines.of("deploy", "watch")
        config.watch = Setting(_watch(deploy["watch"], line), line)
    for name, command in data.get("processes", {}).items():
        line = lines.of("processes", name)
        _name(name, "process", "[processes]", line)
        config.processes[name] = _command(command, f"[processes] {name}", line)
        config.process_lines[name] = line
    if "web" in config.processes:
        if config.start is not None:
            raise _error(
                config.process_lines["web"],
                "[processes] web and [deploy] start both set the web command; keep one",
            )
        config.start = Setting(config.processes["web"], config.process_lines["web"])
    for name, job in data.get("cron", {}).items():
        config.cron.append(_cron_job(name, job, lines.of("cron", name)))
    return config


Sources = dict[str, Evidence]
# deployer.toml's settings: (attribute of DeployerToml, field of Overrides and Plan, its key).
CONFIG_SETTINGS = (
    ("python", "python_version", "[build] python"),
    ("health_path", "health_path", "[deploy] health_path"),
    ("release", "release_command", "[deploy] release"),
    ("start", "start_command", "[deploy] start"),
)


def apply(
    config: DeployerToml | None, overrides: Overrides, file: str
) -> tuple[Overrides, Sources]:
    """The overrides with deployer.toml's settings in place of the project's, and the
    evidence for each one it set (keyed by the Overrides field)."""
    sources: Sources = {}
    if config is None:
        return overrides, sources
    for attribute, name, key in CONFIG_SETTINGS:
        setting = getattr(config, attribute)
        if setting is None:
            continue
        if name == "start_command" and "web" in config.processes:
            key = "[processes] web"
        message = f"{key} = {setting.value!r}"
        project_value = getattr(overrides, name)
        if project_value and project_value.strip() != setting.value:
            message += f" (the project's setting {project_value.strip()!r} is overridden)"
        sources[name] = Evidence(file, setting.line, message)
        overrides = replace(overrides, **{name: setting.value})
    return overrides, sources


def record(plan: Plan, config: DeployerToml, sources: Sources, file: str) -> None:
    """Record what deployer.toml set that the plan keeps, with its evidence."""
    plan.config_file = file
    plan.configured = [name for _, name, _ in CONFIG_SETTINGS if name in sources]
    for name, evidence in sources.items():
        if name == "python_version":
            continue  # noted where the Python is chosen
        if name == "start_command" and plan.kind == "dockerfile":
            plan.configured.remove(name)
            plan.warn(
                "config-start-ignored",
                f"{evidence.message.split(' (')[0]} is not used: the repository's own Dockerfile "
                "says how the app starts (its CMD). Change the CMD, or remove the setting.",
                file,
                evidence.line,
            )
            continue
        plan.evidence.append(replace(evidence, message=f"{evidence.message}: used"))
    # deployer.toml's processes win over a Procfile's of the same name.
    plan.processes = {**plan.processes, **config.processes}
    for name, command in config.processes.items():
        if name != "web":
            plan.note(
                file,
                config.process_lines[name],
                f"[processes] {name} = {command!r}: its own container beside the web",
            )
    plan.cron = list(config.cron)
    for job in config.cron:
        plan.note(
            file,
            job.line,
            f"[cron] {job.name} ({job.schedule}: {job.command!r}): run on schedule from the "
            "live image",
        )
    if config.watch is not None:
        plan.watch = list(config.watch.value)
        plan.note(
            file,
            config.watch.line,
            f"[deploy] watch: a pushed commit deploys only when it changes one of "
            f"{', '.join(plan.watch)} (for pushes after this build)",
        )


def _error(line: int | None, message: str) -> DetectionError:
    where = f"{FILE} line {line}" if line else FILE
    return DetectionError(f"{where}: {message}.")


def _text(value: Any, key: str, line: int | None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _error(line, f"{key} must be a non-empty string, not {_shown(value)}")
    if CONTROL.search(value):
        raise _error(line, f"{key} cannot contain control characters or line breaks")
    return value.strip()


def _command(value: Any, key: str, line: int | None) -> str:
    command = _text(value, key, line)
    if len(command) > MAX_COMMAND:
        raise _error(line, f"{key} is longer than {MAX_COMMAND} characters")
    return command


def _name(name: str, what: str, section: str, line: int | None) -> None:
    if not NAME.match(name):
        raise _error(
            line,
            f"{section} {name!r} is not a valid {what} name: use lowercase letters, digits, "
            "'-' and '_', starting with a letter (at most 30 characters)",
        )


def _watch(value: Any, line: int | None) -> list[str]:
    if not isinstance(value, list) or not value:
        raise _error(
            line, f'[deploy] watch must be a list of paths such as ["src/"], not {_shown(value)}'
        )
    if len(value) > MAX_WATCH:
        raise _error(line, f"[deploy] watch lists more than {MAX_WATCH} paths")
    paths = []
    for item in value:
        path = _text(item, "[deploy] watch path", line).removeprefix("./")
        if path.startswith("/") or ".." in path.split("/") or "\\" in path:
            raise _error(
                line,
                f"[deploy] watch path {path!r} must be relative to the app root, without '..'",
            )
        paths.append(path)
    return paths


def _cron_job(name: str, job: Any, line: int | None) -> CronJob:
    _name(name, "job", "[cron]", line)
    if not isinstance(job, dict):
        raise _error(
            line,
            f'[cron] {name} must be a table such as {{ schedule = "0 3 * * *", command = "..." }}'
            f", not {_shown(job)}",
        )
    for key in job:
        if key not in ("schedule", "command"):
            raise _error(line, f"unknown key {key!r} in [cron] {name}; it takes schedule, command")
    for key in ("schedule", "command"):
        if key not in job:
            raise _error(line, f"[cron] {name} has no {key}")
    schedule = " ".join(_text(job["schedule"], f"[cron] {name} schedule", line).split())
    problem = cron_problem(schedule)
    if problem:
        raise _error(line, f"[cron] {name} schedule {schedule!r}: {problem}")
    command = _command(job["command"], f"[cron] {name} command", line)
    return CronJob(name, schedule, command, line)


def cron_problem(schedule: str) -> str | None:
    """What is wrong with a five-field cron schedule, or None when it is valid.

    Each field is `*` or a value, a range `a-b`, either with a step `/n`, or a comma list of
    those. Months and days of the week also take three-letter English names.
    """
    parts = schedule.split()
    if len(parts) != 5:
        return (
            f"a schedule has 5 fields (minute hour day-of-month month day-of-week), "
            f"not {len(parts)}"
        )
    for part, (what, low, high, names) in zip(parts, CRON_FIELDS, strict=True):
        for item in part.split(","):
            problem = _cron_item(item, low, high, names)
            if problem:
                return f"the {what} field {part!r}: {problem}"
    return None


def _cron_item(item: str, low: int, high: int, names: tuple[str, ...]) -> str | None:
    span, _, step = item.partition("/")
    if step and (not step.isdigit() or not 1 <= int(step) <= high - low + 1):
        return f"the step {step!r} is not a number from 1 to {high - low + 1}"
    if span == "*":
        return None
    first, dash, last = span.partition("-")
    values = []
    for value in (first, last) if dash else (first,):
        number = _cron_value(value, names, low)
        if number is None or not low <= number <= high:
            return f"{value!r} is not a value from {low} to {high}"
        values.append(number)
    if dash and values[0] > values[1]:
        return f"the range {span!r} runs backwards"
    if step and not dash:
        return f"a step needs * or a range before it, not {span!r}"
    return None


def _cron_value(value: str, names: tuple[str, ...], low: int) -> int | None:
    if value.isdigit() and len(value) <= 2:
        return int(value)
    if value.lower() in names:
        return names.index(value.lower()) + low
    return None


def _shown(value: Any) -> str:
    kind = {bool: "a boolean", int: "a number", float: "a number", list: "a list", dict: "a table"}
    return kind.get(type(value), repr(value)[:40])


class _Lines:
    """Where keys are in the text: tomllib reports no positions for valid TOML."""

    def __init__(self, text: str) -> None:
        self.keys: dict[tuple[str, str], int] = {}
        self.headers: dict[str, int] = {}
        section = ""
        for number, raw in enumerate(text.splitlines(), start=1):
            header = HEADER.match(raw)
            if header:
                section = header[1].replace('"', "").replace("'", "").replace(" ", "")
                self.headers.setdefault(section, number)
                parent, _, child = section.rpartition(".")
                if parent:  # [cron.cleanup]: the job is defined here
                    self.keys.setdefault((parent, child), number)
                continue
            key = KEY.match(raw)
            if key:
                name = next(group for group in key.groups() if group is not None)
                dotted = f"{section}.{name}" if section else name
                parent, _, child = dotted.rpartition(".")
                self.keys.setdefault((parent, child), number)

    def of(self, section: str, key: str | None = None) -> int | None:
        """The line of `key` in `[section]` (or of the section itself), None if not found."""
        if key is None:
            return self.headers.get(section) or self.keys.get(("", section))
        return (
            self.keys.get((section, key))
            or self.headers.get(f"{section}.{key}")
            or self.headers.get(section)
        )
