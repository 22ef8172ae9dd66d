"""The seed article's PostgreSQL settings deploy with a PostgreSQL add-on and no variable set by hand.

On the real engine: `manage.py addon create PROJECT postgres` starts the add-on on the
project's network; the next deploy gives the app DB_NAME, DB_USER, DB_PASSWORD (the names its
settings read) and libpq's PGHOST; rows survive a redeploy; an add-on that is down fails the
release with one sentence and the live version stays; another project cannot reach it.
"""

from __future__ import annotations

import http.client
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from addons.models import AddOn
from builds.models import Build
from builds.pipeline import fence
from tests.integration.apps import ARTICLE_DJANGO_APP
from tests.integration.conftest import build_log, deploy, http_get, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def _answers(port: int) -> bool:
    """the app answers again"""
    try:
        return http_get(port, "/")[0] == 200
    except (OSError, http.client.HTTPException):
        return False


def live_port(project) -> int:
    return project.deployments.get(state="live").host_port


def test_the_article_app_runs_on_its_postgres_add_on_with_nothing_set_by_hand(
    celery_worker, git_repo, make_project, docker_client, capsys
):
    repo = git_repo(ARTICLE_DJANGO_APP)
    project = make_project(repo)

    call_command("addon", "create", project.slug, "postgres")
    addon = AddOn.objects.get(project=project)
    assert addon.state == AddOn.State.READY, addon.error
    assert "is ready at" in capsys.readouterr().out
    first = deploy(project)

    assert first.state == Build.State.LIVE, first.failure_reason + build_log(first)
    port = live_port(project)
    assert http_get(port, "/vendor") == (200, "postgresql")
    assert http_get(port, "/add?text=in-postgres") == (200, "added")
    assert addon.password() not in build_log(first)
    assert not project.env_vars.exists()  # nothing set by hand
    container = docker_client.containers.get(first.deployments.get().container_id)
    names = {line.split("=", 1)[0] for line in container.attrs["Config"]["Env"]}
    assert {"DB_NAME", "DB_USER", "DB_PASSWORD", "PGHOST", "PGPASSWORD", "DATABASE_URL"} <= names
    addon_container = docker_client.containers.get(addon.container_name)
    host_config = addon_container.attrs["HostConfig"]
    assert host_config["CapDrop"] == ["ALL"] and not host_config["PortBindings"]
    assert addon_container.attrs["Config"]["User"] == "999:999"

    repo.commit({"mysite/extra.py": "VERSION = 2\n"}, "second")
    second = deploy(project)
    assert second.state == Build.State.LIVE, second.failure_reason
    assert http_get(live_port(project), "/") == (200, "1 notes: in-postgres")

    # The add-on goes down: the next deploy stops at the release, the live one stays.
    addon_container.stop(timeout=5)
    repo.commit({"notes/migrations/0002_noop.py": NOOP_MIGRATION}, "third")
    failed = deploy(project)

    assert (failed.state, failed.failure_stage) == ("failed", "releasing")
    assert failed.failure_reason.startswith(
        f"The PostgreSQL add-on {addon.container_name} is not accepting connections"
    )
    assert project.deployments.get(state="live").build_id == second.pk

    call_command("addon", "start", project.slug, "postgres")
    again = deploy(project)
    assert again.state == Build.State.LIVE, again.failure_reason
    assert http_get(live_port(project), "/") == (200, "1 notes: in-postgres")


def test_another_project_cannot_reach_the_add_on(
    celery_worker, git_repo, make_project, docker_client
):
    owner = make_project(git_repo(ARTICLE_DJANGO_APP))
    call_command("addon", "create", owner.slug, "postgres")
    addon = AddOn.objects.get(project=owner)
    other = make_project(git_repo(ARTICLE_DJANGO_APP))
    labels = {"org.deployer.managed": "1", "org.deployer.project": other.slug}
    other_network = fence.ensure_network(docker_client, other.slug, labels)
    probe = (
        "import socket,sys\n"
        "try:\n"
        f"    socket.create_connection(('{addon.container_name}', 5432), timeout=3); print('reached')\n"
        "except OSError as e:\n"
        "    print('refused', type(e).__name__)\n"
    )

    output = docker_client.containers.run(
        "python:3.11-slim",
        ["python3", "-c", probe],
        network=other_network,
        remove=True,
        labels={"org.deployer.project": other.slug},
    ).decode()
    own = docker_client.containers.run(
        "python:3.11-slim",
        ["python3", "-c", probe],
        network=f"deployer-{owner.slug}",
        remove=True,
        labels={"org.deployer.project": owner.slug},
    ).decode()

    assert own.strip() == "reached"  # the probe works: the add-on answers its own project
    assert output.startswith("refused")


NOOP_MIGRATION = (
    "from django.db import migrations\n\n\n"
    "class Migration(migrations.Migration):\n"
    "    dependencies = [('notes', '0001_initial')]\n"
    "    operations = []\n"
)


def test_a_backup_counts_once_restored_and_brings_back_exactly_its_rows(
    celery_worker, git_repo, make_project, tmp_path, settings, capsys
):
    settings.DEPLOYER_BACKUP_DIR = str(tmp_path / "backups")
    project = make_project(git_repo(ARTICLE_DJANGO_APP))
    call_command("addon", "create", project.slug, "postgres")
    assert deploy(project).state == Build.State.LIVE
    port = live_port(project)
    for text in ("alpha", "beta"):
        assert http_get(port, f"/add?text={text}") == (200, "added")

    call_command("addon", "backup", project.slug, "postgres")
    addon = AddOn.objects.get(project=project)
    backup = addon.backups.get()
    assert backup.state == "verified", backup.error
    assert backup.tables["public.notes_note"] == 2 == backup.restored_tables["public.notes_note"]
    assert "verified by a restore" in capsys.readouterr().out
    assert http_get(port, "/clear") == (200, "cleared")
    assert http_get(port, "/add?text=after-the-backup") == (200, "added")

    call_command("addon", "restore", project.slug, "postgres", "--latest")

    port = live_port(project)  # the same container, stopped and started again
    wait_until(lambda: _answers(port), timeout=60)
    assert http_get(port, "/") == (200, "2 notes: alpha,beta")
    safety = addon.backups.exclude(pk=backup.pk).get()
    assert safety.state == "verified" and safety.tables["public.notes_note"] == 1


def test_a_corrupt_backup_is_never_verified_nor_restored_and_the_live_data_stays(
    celery_worker, git_repo, make_project, tmp_path, settings, docker_client
):
    from addons import backups
    from addons.models import Backup
    from builds import docker as docker_seam

    settings.DEPLOYER_BACKUP_DIR = str(tmp_path / "backups")
    project = make_project(git_repo(ARTICLE_DJANGO_APP))
    call_command("addon", "create", project.slug, "postgres")
    assert deploy(project).state == Build.State.LIVE
    port = live_port(project)
    assert http_get(port, "/add?text=precious") == (200, "added")
    addon = AddOn.objects.get(project=project)
    corrupt = tmp_path / "corrupt.dump"
    corrupt.write_bytes(b"PGDMP" + b"\x00garbage" * 100)
    backup = Backup.objects.create(addon=addon, path=str(corrupt), tables={"public.notes_note": 1})

    with docker_seam.client() as client:
        checked = backups.verify(backup, client)
    with pytest.raises(CommandError, match="only a backup proven by a restore is restored"):
        call_command("addon", "restore", project.slug, "postgres", "--backup", str(backup.pk))

    assert checked.state == "failed" and checked.error.startswith("The restore check failed")
    assert http_get(port, "/") == (200, "1 notes: precious")
    assert not docker_client.containers.list(
        all=True, filters={"label": "org.deployer.role=backup-check"}
    )


def test_scheduled_backups_are_verified_pruned_and_a_removal_takes_a_final_one(
    celery_worker, make_project, git_repo, tmp_path, settings, docker_client
):
    from django.utils import timezone

    from addons import schedule, services
    from builds import docker as docker_seam

    settings.DEPLOYER_BACKUP_DIR = str(tmp_path / "backups")
    project = make_project(git_repo(ARTICLE_DJANGO_APP))
    call_command("addon", "create", project.slug, "postgres")
    addon = AddOn.objects.get(project=project)
    AddOn.objects.filter(pk=addon.pk).update(keep_backups=1)
    later = timezone.now() + timezone.timedelta(hours=25)

    with docker_seam.client() as client:
        first = schedule.take_due(client)
        assert schedule.take_due(client) == []  # not due again yet
        second = schedule.take_due(client, now=later)

    assert [b.state for b in first + second] == ["verified", "verified"], first[0].error
    assert list(addon.backups.values_list("pk", flat=True)) == [second[0].pk]  # keep 1
    assert not Path(first[0].path).exists() and Path(second[0].path).exists()

    addon.refresh_from_db()
    with docker_seam.client() as client:
        services.remove_addon(addon, client, actor="test")

    entry = project.audit_entries.get(action="addon.remove")
    final = Path(entry.summary.split("final backup ")[1])
    assert final.exists() and final.stat().st_size > 0
    assert not docker_client.volumes.list(filters={"name": addon.volume_name})
