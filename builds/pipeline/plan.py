"""The build plan: what detection decided about a repository, and why.

A `Plan` is plain data. Detection fills it in, Dockerfile generation reads it,
the dashboard shows it, and it is stored as JSON with the build (`to_dict` /
`Plan.from_dict` round-trip exactly).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

# Used when the repository names no Python version anywhere.
DEFAULT_PYTHON = "3.11"
DEFAULT_PORT = 8000

KINDS = ("inferred", "procfile", "dockerfile")
FRAMEWORK_CHOICES = ("auto", "django", "flask", "fastapi", "dockerfile", "procfile", "command")
# What builds the image: "auto" the repository's own Dockerfile when it has one, else a
# generated one; "dockerfile" the own Dockerfile, required; "generated" always Deployer's
# (an own Dockerfile is set aside). The framework setting "dockerfile" still asks for it too.
BUILDER_CHOICES = ("auto", "dockerfile", "generated")


def health_path(override: str | None, detected: str | None) -> str:
    """The path health checks use: the project's setting, else detection's, else `/`."""
    return override or detected or "/"


def built_health_path(override: str | None, plan: dict[str, Any] | None) -> str:
    """The path health checks of a built plan (`Plan.to_dict`) use: deployer.toml's when it
    set one (it wins over the project's setting), else as `health_path`."""
    plan = plan or {}
    if "health_path" in plan.get("configured", []) and plan.get("health_path"):
        return plan["health_path"]
    return health_path(override, plan.get("health_path"))


@dataclass
class Evidence:
    """Why a decision was taken: the file and line that said so, in words."""

    file: str | None
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.file and self.line else self.file
        return f"{where}: {self.message}" if where else self.message


@dataclass
class PlanWarning:
    """Something that will build but is likely wrong in production (`code` is stable)."""

    code: str
    message: str
    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.file and self.line else self.file
        return (
            f"[{self.code}] {where}: {self.message}" if where else f"[{self.code}] {self.message}"
        )


@dataclass(frozen=True)
class SettingsVariable:
    """An environment variable the app's settings read (`variables.settings_variables`)."""

    name: str
    file: str
    line: int
    required: bool = False
    database: bool = False
    has_default: bool = False


@dataclass(frozen=True)
class CronJob:
    """A scheduled command from deployer.toml's [cron] (run by the processes app's cron)."""

    name: str
    schedule: str  # five cron fields, validated
    command: str
    line: int | None = None


@dataclass
class Overrides:
    """Project settings that take precedence over what detection would choose."""

    framework: str = "auto"
    entrypoint: str | None = None
    start_command: str | None = None
    requirements_file: str | None = None
    python_version: str | None = None
    health_path: str | None = None
    system_packages: list[str] = field(default_factory=list)
    # Keep a Django app's SQLite database on the project's volume (off: on the container's
    # filesystem, lost at every deploy).
    keep_sqlite: bool = True
    builder: str = "auto"  # one of BUILDER_CHOICES
    # Run once per deploy instead of the detected release command (None: detection decides).
    release_command: str | None = None


@dataclass
class Plan:
    """How to build and run one repository.

    `start_command` and `release_command` are shell command lines; the web
    process binds `0.0.0.0:$PORT`. `install_steps` are shell commands run,
    in order, after `dependency_files` are copied into the image (or after the
    whole source when `install_needs_source`). `env` holds non-secret image
    defaults such as DJANGO_SETTINGS_MODULE.

    With kind "dockerfile" the repository's own Dockerfile is built and its CMD runs
    (`start_command` stays empty); framework, entry point, Python, port, health path,
    dependencies and release command are still detected, from the app and the Dockerfile.

    `app_dir` is the app's folder relative to the repository root when it is not the
    folder detection was given (an app one folder down, or an app root whose dependency
    files are at the repository root): the build context is then the repository root,
    `dependency_files` are relative to it, and the app's folder is the working directory.
    """

    kind: str = "inferred"
    framework: str = "unknown"
    python_version: str = DEFAULT_PYTHON
    python_spec: str | None = None
    package_manager: str = "none"
    dependency_files: list[str] = field(default_factory=list)
    install_steps: list[str] = field(default_factory=list)
    install_needs_source: bool = False
    # "uv", or "pip" where uv cannot serve the requirements (said in the plan); plans stored
    # before uv installed with pip.
    installer: str = "pip"
    # Installs from public PyPI alone, so builds may use the shared package cache.
    public_pypi: bool = True
    entrypoint: str | None = None
    start_command: str = ""
    release_command: str | None = None
    static_command: str | None = None
    health_path: str = "/"
    port: int = DEFAULT_PORT
    env: dict[str, str] = field(default_factory=dict)
    build_packages: list[str] = field(default_factory=list)
    runtime_packages: list[str] = field(default_factory=list)
    extra_packages: list[str] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    warnings: list[PlanWarning] = field(default_factory=list)
    dockerfile_path: str | None = None
    base_images: list[str] = field(default_factory=list)
    # The USER the final stage of an own Dockerfile sets (None: the base image's own).
    image_user: str | None = None
    has_dockerignore: bool = False
    # Absolute paths in the image of the SQLite databases kept on the project's volume.
    sqlite_databases: list[str] = field(default_factory=list)
    # The environment variables the settings read, for the plan's "where from" table.
    variables: list[SettingsVariable] = field(default_factory=list)
    # The app's folder below the build context, which is then the repository root ("": none).
    app_dir: str = ""
    # From deployer.toml: the named processes (web is also the start command), the scheduled
    # commands, and the paths a push must touch to deploy (empty: any push deploys).
    processes: dict[str, str] = field(default_factory=dict)
    cron: list[CronJob] = field(default_factory=list)
    watch: list[str] = field(default_factory=list)
    # The plan fields deployer.toml set (they win over the project's settings), e.g.
    # ["health_path", "release_command"]; the file's path from the build context, if read.
    configured: list[str] = field(default_factory=list)
    config_file: str | None = None

    def note(self, file: str | None, line: int | None, message: str) -> None:
        """Record one piece of evidence."""
        self.evidence.append(Evidence(file, line, message))

    def warn(self, code: str, message: str, file: str | None = None, line: int | None = None):
        """Record one readiness warning (once per code, file and line)."""
        warning = PlanWarning(code, message, file, line)
        if warning not in self.warnings:
            self.warnings.append(warning)

    def other_processes(self) -> dict[str, str]:
        """The process types that run as containers of their own beside the web one."""
        return {name: command for name, command in self.processes.items() if name != "web"}

    def warning_codes(self) -> list[str]:
        """The codes of the warnings, in order (handy for display and tests)."""
        return [w.code for w in self.warnings]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict of every field."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        """Rebuild a plan from `to_dict` output; keys this version does not know are ignored."""
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        values["evidence"] = [Evidence(**item) for item in values.get("evidence", [])]
        values["warnings"] = [PlanWarning(**item) for item in values.get("warnings", [])]
        values["variables"] = [SettingsVariable(**item) for item in values.get("variables", [])]
        values["cron"] = [CronJob(**item) for item in values.get("cron", [])]
        return cls(**values)
