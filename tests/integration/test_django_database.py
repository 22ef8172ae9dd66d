"""The seed article's Django app deploys with its SQLite database kept on the project's volume.

On the real engine: the migrated table is the web container's, a row written through the
app survives two redeploys and a rollback, the app may write beside its code, and a volume
the app's user cannot write fails the release with one sentence while the live version keeps
answering with its data.
"""

from __future__ import annotations

import pytest

from builds import services
from builds.models import Build
from tests.integration.apps import ARTICLE_DJANGO_APP
from tests.integration.conftest import build_log, deploy, http_get, wait_for_build, wait_until

pytestmark = pytest.mark.django_db(transaction=True)
NOOP_MIGRATION = (
    "from django.db import migrations\n\n\n"
    "class Migration(migrations.Migration):\n"
    "    dependencies = [('notes', '0001_initial')]\n"
    "    operations = []\n"
)


def live_port(project) -> int:
    deployment = project.deployments.get(state="live")
    return deployment.host_port


def test_the_article_app_keeps_its_rows_across_redeploys_and_a_rollback(
    celery_worker, git_repo, make_project, docker_client
):
    repo = git_repo(ARTICLE_DJANGO_APP)
    project = make_project(repo)

    first = deploy(project)

    assert first.state == Build.State.LIVE, first.failure_reason + build_log(first)
    log = build_log(first)
    assert f"Created the project's volume deployer-data-{project.slug}" in log
    assert "db.sqlite3 -> /var/lib/deployer/data/db.sqlite3" in log
    assert "Running the release command: python manage.py migrate --noinput" in log
    assert first.plan["sqlite_databases"] == ["/app/db.sqlite3"]
    port = live_port(project)
    assert http_get(port, "/") == (200, "0 notes: ")  # the release migrated the app's database
    assert http_get(port, "/add?text=kept") == (200, "added")
    assert http_get(port, "/scratch") == (200, "written beside the code")

    repo.commit({"mysite/extra.py": "VERSION = 2\n"}, "second")
    second = deploy(project)
    assert second.state == Build.State.LIVE, second.failure_reason
    assert http_get(live_port(project), "/") == (200, "1 notes: kept")

    repo.commit({"mysite/extra.py": "VERSION = 3\n"}, "third")
    third = deploy(project)
    assert third.state == Build.State.LIVE, third.failure_reason
    assert f"Using the project's volume deployer-data-{project.slug}" in build_log(third)
    assert http_get(live_port(project), "/add?text=after-two") == (200, "added")

    rollback = wait_for_build(services.request_rollback(project, first))
    assert rollback.state == Build.State.LIVE, rollback.failure_reason
    assert http_get(live_port(project), "/") == (200, "2 notes: kept,after-two")

    volume = docker_client.volumes.get(f"deployer-data-{project.slug}")
    assert volume.attrs["Labels"]["org.deployer.project"] == project.slug

    def data_measured():
        """the task after live measured the kept databases"""
        project.refresh_from_db()
        return project.data_bytes and project.data_bytes > 0

    wait_until(data_measured, timeout=30)


def test_an_unwritable_volume_fails_the_release_and_the_live_version_keeps_its_data(
    celery_worker, git_repo, make_project, docker_client
):
    repo = git_repo(ARTICLE_DJANGO_APP)
    project = make_project(repo)
    first = deploy(project)
    assert first.state == Build.State.LIVE, first.failure_reason
    port = live_port(project)
    assert http_get(port, "/add?text=precious") == (200, "added")
    # An operator's slip: the volume's files now belong to root.
    docker_client.containers.run(
        "python:3.11-slim",
        ["sh", "-c", "chown -R 0:0 /data && chmod -R go-w /data"],
        volumes={f"deployer-data-{project.slug}": {"bind": "/data", "mode": "rw"}},
        remove=True,
        labels={"org.deployer.project": project.slug},
    )

    sentence = (
        f"The project's volume deployer-data-{project.slug} (mounted at /var/lib/deployer/data) "
        "or its SQLite database there is not writable by the app's user (uid 10001)."
    )

    # A code-only change skips migrate: the new web container finds the volume unwritable.
    repo.commit({"mysite/extra.py": "VERSION = 2\n"}, "second")
    code_only = deploy(project)
    # A new migration: the release container finds it before migrate runs.
    repo.commit({"notes/migrations/0002_noop.py": NOOP_MIGRATION}, "third")
    migrating = deploy(project)

    assert (code_only.state, code_only.failure_stage) == ("failed", "health_checking")
    assert code_only.failure_reason.startswith(sentence)
    assert code_only.failure_reason.endswith("The new version was not switched to.")
    assert (migrating.state, migrating.failure_stage) == ("failed", "releasing")
    assert migrating.failure_reason.startswith(sentence)
    assert http_get(port, "/") == (200, "1 notes: precious")
    assert project.deployments.get(state="live").build_id == first.pk
