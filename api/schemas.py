"""What the API reads and answers. Inputs refuse unknown fields, so a typo is an error."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Schema
from pydantic import ConfigDict, Field


class Input(Schema):
    model_config = ConfigDict(extra="forbid")


class Error(Schema):
    code: str
    message: str


class ErrorBody(Schema):
    error: Error


class Me(Schema):
    username: str
    token_name: str
    scope: str
    project: str | None
    expires_at: datetime | None


class ProjectOut(Schema):
    slug: str
    repo_url: str
    branch: str
    app_root: str
    framework: str
    builder: str
    start_command: str
    entrypoint: str
    python_version: str
    requirements_file: str
    system_packages: str
    health_check_path: str
    container_port: int
    memory_limit_mb: int
    web_replicas: int
    run_as_root: bool
    keep_sqlite: bool
    owner: str
    members: list[str]
    has_repo_credentials: bool
    url: str
    deleting: bool
    created_at: datetime


class ProjectCreate(Input):
    slug: str
    repo_url: str
    branch: str = "main"
    app_root: str = ""
    framework: str = "auto"
    builder: str = "auto"
    start_command: str = ""
    entrypoint: str = ""
    python_version: str = ""
    requirements_file: str = ""
    system_packages: str = ""
    health_check_path: str = ""
    container_port: int = 8000
    memory_limit_mb: int | None = None
    web_replicas: int = 1
    run_as_root: bool = False
    keep_sqlite: bool = True


class ProjectUpdate(Input):
    repo_url: str | None = None
    branch: str | None = None
    app_root: str | None = None
    framework: str | None = None
    builder: str | None = None
    start_command: str | None = None
    entrypoint: str | None = None
    python_version: str | None = None
    requirements_file: str | None = None
    system_packages: str | None = None
    health_check_path: str | None = None
    container_port: int | None = None
    memory_limit_mb: int | None = None
    web_replicas: int | None = None
    run_as_root: bool | None = None
    keep_sqlite: bool | None = None
    members: list[str] | None = Field(None, description="Usernames; replaces the members.")
    forget_credentials: bool | None = Field(None, description="Drop the repository credentials.")


class EnvVarOut(Schema):
    key: str
    available_at_build: bool
    updated_at: datetime


class EnvVarRevealed(EnvVarOut):
    value: str


class EnvVarCreate(Input):
    key: str
    value: str
    available_at_build: bool = False


class EnvVarUpdate(Input):
    value: str | None = None
    available_at_build: bool | None = None


class EnvImportIn(Input):
    text: str = Field(description="The contents of a .env file.")


class EnvImportOut(Schema):
    created: list[str]
    updated: list[str]


class BuildOut(Schema):
    """Read from a Build (its project selected with it) or from a dict of the same names."""

    id: int
    project: str
    state: str
    trigger: str
    ref: str
    commit_sha: str
    commit_message: str
    rollback_of: int | None = Field(None, validation_alias="rollback_of_id")
    failure_stage: str
    failure_reason: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    finished: bool

    @staticmethod
    def resolve_project(build) -> str:
        return build.project.slug

    @staticmethod
    def resolve_finished(build) -> bool:
        return build.is_finished


class DeployIn(Input):
    ref: str = Field("", description="A branch, tag or commit; empty for the project's branch.")


class RollbackIn(Input):
    build: int | None = Field(None, description="The build to go back to; default the newest.")


class LogLine(Schema):
    seq: int
    stage: str
    text: str


class LogPage(Schema):
    build: int
    state: str
    lines: list[LogLine]
    next_after: int = Field(description="Ask again with ?after= this.")
    finished: bool = Field(description="True once no more lines can come: stop following.")


class CancelOut(Schema):
    build: BuildOut
    cancelled: bool
    message: str


class DomainOut(Schema):
    hostname: str
    state: str
    method: str
    token: str
    last_check_reason: str
    verified_at: datetime | None


class DomainIn(Input):
    hostname: str


class DomainCheckIn(Input):
    method: Literal["dns", "http"] | None = Field(
        None, description="The proof to try: dns (a TXT record) or http; default the last one."
    )


class DomainCheckOut(Schema):
    verified: bool
    reason: str
    domain: DomainOut


class HealthOut(Schema):
    state: str
    label: str
    reason: str
    since: datetime | None
    checked_at: datetime | None
    live_build: int | None


class HealthEventOut(Schema):
    at: datetime = Field(validation_alias="created_at")
    kind: str
    state: str
    reason: str
    exit_code: int | None
    restarts: int | None


class ActivityOut(Schema):
    at: datetime = Field(validation_alias="created_at")
    action: str
    summary: str
    actor: str = Field(validation_alias="actor_label")


class AddOnOut(Schema):
    id: int
    kind: str
    state: str
    error: str
    variables: list[str]
    health: str = Field(description="up, down or unknown (not checked yet).")
    health_reason: str
    backup_every_hours: int
    keep_backups: int
    created_at: datetime


class BackupScheduleIn(Input):
    every_hours: int = Field(description="A backup every this many hours; 0 for none.")
    keep: int = Field(description="How many backups are kept.")


class AddOnIn(Input):
    kind: str


class VolumeOut(Schema):
    id: int
    name: str
    path: str
    size: int | None = Field(description="Bytes, as the engine last measured; null: not yet.")
    measured_at: datetime | None
    removing: bool
    created_at: datetime


class VolumeIn(Input):
    name: str = Field(description="1 to 40 lowercase letters, digits and hyphens.")
    path: str = Field(description="Below /app (not /app itself), or at or below /data.")


class Accepted(Schema):
    message: str


class ProcessOut(Schema):
    name: str
    command: str
    build_id: int
    state: str
    engine_state: str
    restart_count: int
    observed_at: datetime | None
    started_at: datetime
    stop_reason: str


class CronRunOut(Schema):
    id: int
    state: str
    build_id: int | None
    scheduled_for: datetime | None
    started_at: datetime
    finished_at: datetime | None
    exit_code: int | None
    output: str


class CronJobOut(Schema):
    name: str
    schedule: str
    command: str
    enabled: bool
    source: str
    created_at: datetime


class CronJobIn(Input):
    name: str
    schedule: str
    command: str
    enabled: bool = True


class PreviewOut(Schema):
    number: int
    title: str
    state: str
    reason: str
    head_branch: str
    head_sha: str
    from_fork: bool
    approved_sha: str
    address: str  # where the preview answers; "" while it has no project
    build_state: str  # its newest build's state; "" when none
    created_at: datetime
