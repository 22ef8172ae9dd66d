"""A Redis add-on on the real engine: a Flask app counts its visits in it through REDIS_URL
and the count survives redeploys; an RDB backup counts once loaded into a throw-away Redis;
a restore brings back exactly its keys; a damaged file restores nothing and the live data
stays; the add-on's health is watched."""

from __future__ import annotations

import http.client
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from addons import backups, health
from addons.models import AddOn, Backup
from builds import docker as docker_seam
from builds.models import Build
from monitoring.models import HealthEvent
from tests.integration.apps import REDIS_COUNTER_APP
from tests.integration.conftest import build_log, deploy, http_get, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def live_port(project) -> int:
    return project.deployments.get(state="live").host_port


def _answers(port: int) -> bool:
    """the app answers again"""
    try:
        return http_get(port, "/healthz")[0] == 200
    except (OSError, http.client.HTTPException):
        return False


def test_a_redis_backed_counter_survives_redeploys_and_the_add_on_is_fenced(
    celery_worker, git_repo, make_project, docker_client, capsys
):
    repo = git_repo(REDIS_COUNTER_APP)
    project = make_project(repo)

    call_command("addon", "create", project.slug, "redis")
    addon = AddOn.objects.get(project=project)
    assert addon.state == AddOn.State.READY, addon.error
    assert "REDIS_URL" in capsys.readouterr().out
    first = deploy(project)
    assert first.state == Build.State.LIVE, first.failure_reason + build_log(first)
    for expected in ("1", "2", "3"):
        assert http_get(live_port(project), "/hit") == (200, expected)

    assert addon.password() not in build_log(first)
    redis_container = docker_client.containers.get(addon.container_name)
    attrs = redis_container.attrs
    assert attrs["HostConfig"]["CapDrop"] == ["ALL"] and not attrs["HostConfig"]["PortBindings"]
    assert attrs["Config"]["User"] == "999:999"
    assert addon.password() not in " ".join(attrs["Config"]["Cmd"])  # only in its environment
    # A client without the password is refused: --requirepass is on.
    refused = docker_client.api.exec_create(
        addon.container_name, ["redis-cli", "--no-auth-warning", "-a", "wrong", "get", "hits"]
    )
    output = docker_client.api.exec_start(refused["Id"]).decode()
    assert "WRONGPASS" in output or "NOAUTH" in output

    for number in (2, 3):
        repo.commit({"version.txt": f"{number}\n"}, f"deploy {number}")
        again = deploy(project)
        assert again.state == Build.State.LIVE, again.failure_reason
    assert http_get(live_port(project), "/hit") == (200, "4")


def test_a_renamed_url_variable_reaches_the_app_under_its_new_name(
    celery_worker, git_repo, make_project, docker_client
):
    files = {
        **REDIS_COUNTER_APP,
        "app.py": REDIS_COUNTER_APP["app.py"].replace("'REDIS_URL'", "'CACHE_URL'"),
    }
    project = make_project(git_repo(files))

    call_command("addon", "create", project.slug, "redis", "--variable", "CACHE_URL")
    built = deploy(project)

    assert built.state == Build.State.LIVE, built.failure_reason + build_log(built)
    assert http_get(live_port(project), "/hit") == (200, "1")
    container = docker_client.containers.get(built.deployments.get().container_id)
    names = {line.split("=", 1)[0] for line in container.attrs["Config"]["Env"]}
    assert "CACHE_URL" in names and "REDIS_URL" not in names
    with pytest.raises(CommandError, match="invalid choice: 'mysql'"):
        call_command("addon", "create", project.slug, "mysql")


def test_a_redis_backup_is_verified_by_loading_it_and_restores_exactly_its_keys(
    celery_worker, git_repo, make_project, tmp_path, settings, docker_client, capsys
):
    settings.DEPLOYER_BACKUP_DIR = str(tmp_path / "backups")
    # With a worker process beside the web: a restore stops it too (it may write).
    procfile = "web: gunicorn app:app --bind 0.0.0.0:$PORT\nworker: exec sleep 100000\n"
    project = make_project(git_repo({**REDIS_COUNTER_APP, "Procfile": procfile}))
    call_command("addon", "create", project.slug, "redis")
    assert deploy(project).state == Build.State.LIVE
    worker_filter = {"label": [f"org.deployer.project={project.slug}", "org.deployer.role=process"]}
    workers = wait_until(lambda: docker_client.containers.list(filters=worker_filter), timeout=60)
    worker_started = workers[0].attrs["State"]["StartedAt"]
    for _ in range(5):
        http_get(live_port(project), "/hit")

    unnamed_before = _unnamed_volumes(docker_client)
    call_command("addon", "backup", project.slug, "redis")
    addon = AddOn.objects.get(project=project)
    backup = addon.backups.get()
    assert backup.state == Backup.State.VERIFIED, backup.error
    # The check container's image declares VOLUME /data: removed with its container, not
    # left on the engine's disk once per backup.
    assert not _unnamed_volumes(docker_client) - unnamed_before
    assert backup.tables == {"db0": 1} == backup.restored_tables
    assert backup.path.endswith(".rdb") and backup.size > 0
    assert "verified by a restore" in capsys.readouterr().out
    for _ in range(3):
        http_get(live_port(project), "/hit")
    assert http_get(live_port(project), "/count") == (200, "8")

    call_command("addon", "restore", project.slug, "redis", "--latest")

    port = live_port(project)
    wait_until(lambda: _answers(port), timeout=60)
    assert http_get(port, "/count") == (200, "5")
    workers[0].reload()
    assert workers[0].status == "running"
    assert workers[0].attrs["State"]["StartedAt"] > worker_started  # stopped, then started
    safety = addon.backups.exclude(pk=backup.pk).get()
    assert safety.state == Backup.State.VERIFIED and "safety backup" in safety.reason
    assert not docker_client.containers.list(
        all=True, filters={"label": f"org.deployer.project={project.slug}", "status": "exited"}
    )
    assert not docker_client.containers.list(
        all=True, filters={"label": "org.deployer.role=backup-check"}
    )

    # Removing it takes a verified final backup first, then the container and its volume go.
    call_command("addon", "remove", project.slug, "redis")
    entry = project.audit_entries.get(action="addon.remove")
    final = Path(entry.summary.split("final backup ", 1)[1])
    assert final.suffix == ".rdb" and final.stat().st_size > 0  # the file outlives the add-on
    assert not AddOn.objects.filter(pk=addon.pk).exists()
    assert not docker_client.volumes.list(filters={"name": addon.volume_name})


def _unnamed_volumes(docker_client) -> set[str]:
    """Volumes no container uses, named by the engine (64 hex digits): a container's own."""
    dangling = docker_client.volumes.list(filters={"dangling": True})
    return {v.name for v in dangling if len(v.name) == 64 and v.name.isalnum()}


def test_a_corrupt_redis_backup_restores_nothing_and_the_live_data_stays(
    celery_worker, git_repo, make_project, tmp_path, settings, docker_client
):
    settings.DEPLOYER_BACKUP_DIR = str(tmp_path / "backups")
    # With a worker process beside the web: a restore stops it too (it may write).
    procfile = "web: gunicorn app:app --bind 0.0.0.0:$PORT\nworker: exec sleep 100000\n"
    project = make_project(git_repo({**REDIS_COUNTER_APP, "Procfile": procfile}))
    call_command("addon", "create", project.slug, "redis")
    assert deploy(project).state == Build.State.LIVE
    worker_filter = {"label": [f"org.deployer.project={project.slug}", "org.deployer.role=process"]}
    workers = wait_until(lambda: docker_client.containers.list(filters=worker_filter), timeout=60)
    worker_started = workers[0].attrs["State"]["StartedAt"]
    http_get(live_port(project), "/hit")
    unnamed_before = _unnamed_volumes(docker_client)
    call_command("addon", "backup", project.slug, "redis")
    addon = AddOn.objects.get(project=project)
    backup = addon.backups.get()
    assert backup.state == Backup.State.VERIFIED, backup.error
    # The check container's image declares VOLUME /data: removed with its container, not
    # left on the engine's disk once per backup.
    assert not _unnamed_volumes(docker_client) - unnamed_before
    for _ in range(6):
        http_get(live_port(project), "/hit")
    # The verified file is damaged on disk afterwards: the restore must notice first.
    data = bytearray(open(backup.path, "rb").read())
    data[len(data) // 2 :] = b"\xff" * (len(data) - len(data) // 2)
    open(backup.path, "wb").write(bytes(data))
    garbage = tmp_path / "garbage.rdb"
    garbage.write_bytes(b"REDIS0010" + b"\x00junk" * 50)
    unverified = Backup.objects.create(addon=addon, path=str(garbage), tables={"db0": 1})

    with pytest.raises(CommandError, match="no longer loads"):
        call_command("addon", "restore", project.slug, "redis", "--backup", str(backup.pk))
    with pytest.raises(CommandError, match="only a backup proven by a restore is restored"):
        call_command("addon", "restore", project.slug, "redis", "--backup", str(unverified.pk))
    with docker_seam.client() as client:
        checked = backups.verify(unverified, client)

    assert checked.state == Backup.State.FAILED
    assert checked.error.startswith("The restore check failed: Redis would not load the file")
    backup.refresh_from_db()
    assert backup.state == Backup.State.FAILED
    assert addon.backups.count() == 2  # no safety backup: nothing was touched
    assert http_get(live_port(project), "/count") == (200, "7")
    workers[0].reload()  # nor was the app's worker stopped
    assert workers[0].attrs["State"]["StartedAt"] == worker_started
    assert not docker_client.containers.list(
        all=True, filters={"label": "org.deployer.role=backup-check"}
    )


def test_an_add_on_that_goes_down_is_an_event_and_a_notification_and_so_is_its_return(
    celery_worker, git_repo, make_project, docker_client
):
    from monitoring import alerts
    from monitoring.models import NotificationDelivery

    project = make_project(git_repo(REDIS_COUNTER_APP))
    alerts.update_notification_settings(
        project,
        email_owner=False,
        extra_emails="ops@example.com",
        webhook_url="",
        webhook_format="generic",
        on_health=True,
        on_deploy=False,
    )
    call_command("addon", "create", project.slug, "redis")
    addon = AddOn.objects.get(project=project)

    with docker_seam.client() as client:
        assert health.check_all(client) == []  # up on the first check: no news
        docker_client.containers.get(addon.container_name).stop(timeout=5)
        down = health.check_all(client)
        assert health.check_all(client) == []  # still down: said once
        docker_client.containers.get(addon.container_name).start()
        wait_until(lambda: health.probe(addon, client)[0] == AddOn.Health.UP, timeout=30)
        back = health.check_all(client)

    assert [event.kind for event in down] == [HealthEvent.Kind.ALERT]
    assert "is down: Its container is exited" in down[0].reason
    assert [event.kind for event in back] == [HealthEvent.Kind.ALERT_ENDED]
    addon.refresh_from_db()
    assert addon.health == AddOn.Health.UP and addon.health_checked_at
    kinds = list(
        NotificationDelivery.objects.filter(project=project).values_list("kind", flat=True)
    )
    assert sorted(kinds) == ["addon.down", "addon.up"]


def test_another_project_cannot_reach_the_redis_add_on_and_its_app_cannot_move_its_files(
    celery_worker, git_repo, make_project, docker_client
):
    from builds.pipeline import fence

    owner = make_project(git_repo(REDIS_COUNTER_APP))
    call_command("addon", "create", owner.slug, "redis")
    addon = AddOn.objects.get(project=owner)
    other = make_project(git_repo(REDIS_COUNTER_APP))
    labels = {"org.deployer.managed": "1", "org.deployer.project": other.slug}
    other_network = fence.ensure_network(docker_client, other.slug, labels)
    probe = (
        "import socket\n"
        "try:\n"
        f"    socket.create_connection(('{addon.container_name}', 6379), timeout=3); print('reached')\n"
        "except OSError as e:\n"
        "    print('refused', type(e).__name__)\n"
    )

    def run_probe(network: str, slug: str) -> str:
        return docker_client.containers.run(
            "python:3.11-slim",
            ["python3", "-c", probe],
            network=network,
            remove=True,
            labels={"org.deployer.project": slug},
        ).decode()

    assert run_probe(f"deployer-{owner.slug}", owner.slug).strip() == "reached"
    assert run_probe(other_network, other.slug).startswith("refused")
    # The app holds the password, so it can send any command: Redis 7's protected configs
    # keep it from pointing the server's files elsewhere (off the volume, over other files).
    moved = docker_client.api.exec_create(
        addon.container_name, ["redis-cli", "config", "set", "dir", "/tmp"]
    )
    said = docker_client.api.exec_start(moved["Id"]).decode()
    assert "protected config" in said
