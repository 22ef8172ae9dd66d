"""The releasing stage: Django's detected migrate is skipped only after the live build ran it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from django.utils import timezone

from builds import runner
from builds.models import Build, Deployment
from builds.pipeline.detect import detect_plan
from builds.pipeline.errors import StageError
from builds.pipeline.fence import Fence
from builds.pipeline.plan import Plan
from tests.unit.builds import trees

pytestmark = pytest.mark.django_db

ENV = {"SECRET_KEY": "s3cr3t-value-of-the-app", "ALLOWED_HOSTS": ".localhost"}
MIGRATION = (
    "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n    pass\n"
)


class FakeContainer:
    id = "release-container"

    def __init__(self, exit_code: int):
        self.exit_code = exit_code

    def logs(self, stream: bool, follow: bool):
        return iter([b"Operations to perform: none\n"])

    def wait(self, timeout: float) -> dict:
        return {"StatusCode": self.exit_code}

    def stop(self, timeout: int) -> None:
        pass

    def remove(self, force: bool, v: bool = False) -> None:
        pass


class FakeDocker:
    """The Docker seam: records each release container asked for; it exits with `exit_code`."""

    def __init__(self, exit_code: int = 0):
        self.containers = self
        self.exit_code = exit_code
        self.runs: list[list[str]] = []
        self.mounts: list[list] = []

    def run(self, image: str, command: list[str], **kwargs) -> FakeContainer:
        # The release command is the last line; the lines before check the project's volume.
        self.runs.append([*command[:-1], command[-1].rpartition("\n")[2]])
        self.mounts.append(kwargs.get("mounts", []))
        return FakeContainer(self.exit_code)

    def get(self, container_id: str) -> FakeContainer:
        return FakeContainer(self.exit_code)


@pytest.fixture
def project(user):
    from projects import services as project_services

    return project_services.create_project(user, slug="rel", repo_url="https://example.com/a.git")


@pytest.fixture
def checkout(make_tree):
    """checkout(**files) -> a Django project's tree with one migration, plus `files`."""

    def make(**files: str) -> Path:
        migration = {"notes/__init__.py": "", "notes/migrations/0001_initial.py": MIGRATION}
        return make_tree(trees.django_project(trees.STARTPROJECT_SETTINGS, **migration, **files))

    return make


@pytest.fixture
def plan(checkout) -> Plan:
    return detect_plan(checkout(), available_pythons=("3.11",))


def new_build(project, plan: Plan, **fields) -> Build:
    fields = {"dependency_layer_cached": True, **fields}
    return Build.objects.create(
        project=project, plan=plan.to_dict(), image_tag="deployer/rel:1", **fields
    )


def release(
    build: Build, plan: Plan, source: Path | None, docker: FakeDocker, env=ENV, new_volume=False
) -> str:
    lines: list[str] = []
    fence = Fence(network="deployer-rel", memory_mb=512, cpus=1.0, pids_limit=512)
    runner._release(
        build, plan, source, docker, env, lines.append, lambda: False, fence, new_volume
    )
    build.refresh_from_db()
    return "\n".join(lines)


def go_live(build: Build) -> None:
    Deployment.objects.filter(project=build.project, state=Deployment.State.LIVE).update(
        state=Deployment.State.SUPERSEDED
    )
    Deployment.objects.create(
        project=build.project, build=build, state=Deployment.State.LIVE, live_at=timezone.now()
    )


@pytest.fixture
def live(project, plan, checkout) -> Build:
    """A build whose migrate ran and which went live."""
    build = new_build(project, plan)
    release(build, plan, checkout(), FakeDocker())
    go_live(build)
    return build


def test_code_only_build_skips_migrate_the_live_build_ran(project, plan, checkout, live):
    docker = FakeDocker()
    build = new_build(project, plan)

    log = release(build, plan, checkout(**{"notes/views.py": "VERSION = 2\n"}), docker)

    assert docker.runs == []
    assert (
        "Release skipped: `python manage.py migrate --noinput` already ran for these "
        f"migrations and variables in build #{live.pk}."
    ) in log
    assert build.release_fingerprint == live.release_fingerprint != ""


def test_added_migration_runs_migrate_again(project, plan, checkout, live):
    docker = FakeDocker()
    build = new_build(project, plan)

    release(build, plan, checkout(**{"notes/migrations/0002_more.py": MIGRATION}), docker)

    assert docker.runs == [["sh", "-c", "python manage.py migrate --noinput"]]
    assert build.release_fingerprint not in ("", live.release_fingerprint)


def test_changed_variable_runs_migrate_again(project, plan, checkout, live):
    docker = FakeDocker()
    build = new_build(project, plan)

    release(build, plan, checkout(), docker, env={**ENV, "DATABASE_URL": "postgres://db/new"})

    assert len(docker.runs) == 1


def test_procfile_release_runs_even_when_the_live_build_matches(project, plan, checkout, live):
    docker = FakeDocker()
    procfile = replace(plan, kind="procfile")
    build = new_build(project, procfile)

    log = release(build, procfile, checkout(), docker)

    assert len(docker.runs) == 1
    assert "Release skipped" not in log
    assert build.release_fingerprint == ""


def test_dependency_layer_installed_afresh_runs_migrate_again(project, plan, checkout, live):
    docker = FakeDocker()
    build = new_build(project, plan, dependency_layer_cached=False)

    release(build, plan, checkout(), docker)

    assert len(docker.runs) == 1
    assert build.release_fingerprint == live.release_fingerprint


def test_only_the_live_build_counts(project, plan, checkout, live):
    failed_health_check = new_build(project, plan)
    release(failed_health_check, plan, checkout(), FakeDocker(), env={**ENV, "X": "1"})
    docker = FakeDocker()
    build = new_build(project, plan)

    release(build, plan, checkout(), docker, env={**ENV, "X": "1"})

    assert failed_health_check.release_fingerprint == build.release_fingerprint
    assert len(docker.runs) == 1


def test_failed_release_records_no_fingerprint(project, plan, checkout, live):
    build = new_build(project, plan)

    with pytest.raises(StageError, match="exit code 1"):
        release(
            build, plan, checkout(**{"notes/migrations/0002_more.py": MIGRATION}), FakeDocker(1)
        )

    build.refresh_from_db()
    assert build.release_fingerprint == ""


def test_rollback_uses_the_digest_of_its_target(project, plan, checkout, live):
    code_only = new_build(project, plan)
    release(code_only, plan, checkout(**{"notes/views.py": "VERSION = 2\n"}), FakeDocker())
    go_live(code_only)
    docker = FakeDocker()
    rollback = new_build(project, plan, rollback_of=live)

    log = release(rollback, plan, None, docker)

    assert docker.runs == []
    assert f"in build #{code_only.pk}." in log
    assert rollback.migrations_digest == live.migrations_digest != ""


def test_rollback_to_a_build_without_a_digest_runs_migrate(project, plan, live):
    older = new_build(project, plan)
    docker = FakeDocker()
    rollback = new_build(project, plan, rollback_of=older)

    release(rollback, plan, None, docker)

    assert len(docker.runs) == 1
    assert rollback.release_fingerprint == ""


def test_a_volume_created_now_gets_migrated_even_when_the_live_build_ran_migrate(
    project, plan, checkout, live
):
    docker = FakeDocker()
    build = new_build(project, plan)

    release(build, plan, checkout(**{"notes/views.py": "VERSION = 2\n"}), docker, new_volume=True)

    assert docker.runs == [["sh", "-c", "python manage.py migrate --noinput"]]


def test_moving_sqlite_onto_the_volume_changes_the_fingerprint(project, plan, checkout, live):
    docker = FakeDocker()
    ephemeral = replace(plan, sqlite_databases=[])
    build = new_build(project, ephemeral)

    release(build, ephemeral, checkout(), docker)

    assert plan.sqlite_databases == ["/app/db.sqlite3"]
    assert len(docker.runs) == 1  # the live build's migrate was of the volume's database
    assert build.release_fingerprint != live.release_fingerprint


def test_an_unwritable_volume_fails_the_release_with_one_sentence(project, plan, checkout):
    docker = FakeDocker(exit_code=86)
    build = new_build(project, plan)

    with pytest.raises(StageError) as failed:
        release(build, plan, checkout(), docker)

    assert str(failed.value).startswith(
        "The project's volume deployer-data-rel (mounted at /var/lib/deployer/data) or its "
        "SQLite database there is not writable by the app's user"
    )
