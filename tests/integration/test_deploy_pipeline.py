"""A push becomes a healthy running app; a bad push never takes down the version that works."""

from __future__ import annotations

import json
import time

import pytest

from builds.models import Build, Deployment
from tests.integration.apps import DJANGO_APP, FASTAPI_APP, FLASK_APP
from tests.integration.conftest import build_log, deploy, http_get, wait_for_build, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def live_port(project) -> int:
    return Deployment.objects.get(project=project, state=Deployment.State.LIVE).host_port


def test_flask_app_deploys_and_answers_on_its_published_port(celery_worker, git_repo, make_project):
    project = make_project(git_repo(FLASK_APP), env={"GREETING": "bonjour"})

    build = deploy(project)

    assert build.state == Build.State.LIVE, build.failure_reason + "\n" + build_log(build)
    assert http_get(live_port(project)) == (200, "bonjour from v1")
    assert set(build.stage_timings) >= {
        "cloning",
        "detecting",
        "building",
        "starting",
        "health_checking",
        "switching",
    }
    assert all(timing["seconds"] >= 0 for timing in build.stage_timings.values())
    assert build.plan["framework"] == "flask"


def test_runtime_variable_absent_from_image_history_and_config(
    celery_worker, git_repo, make_project, docker_client
):
    secret = "s3cr3t-value-that-must-not-leak"
    project = make_project(git_repo(FLASK_APP), env={"GREETING": secret})

    build = deploy(project)

    assert build.state == Build.State.LIVE, build.failure_reason
    assert http_get(live_port(project))[1] == f"{secret} from v1"
    image = docker_client.images.get(build.image_id)
    history = json.dumps(image.history())
    assert secret not in history
    assert secret not in json.dumps(image.attrs["Config"])
    assert secret not in build_log(build)


def test_second_commit_redeploys_and_the_old_container_is_gone(
    celery_worker, git_repo, make_project, docker_client
):
    repo = git_repo(FLASK_APP)
    project = make_project(repo)
    first = deploy(project)
    assert first.state == Build.State.LIVE, first.failure_reason
    old = Deployment.objects.get(build=first)
    new_app = FLASK_APP["app.py"].replace("from v1", "from v2")
    repo.commit({"app.py": new_app}, "v2")

    second = deploy(project)

    assert second.state == Build.State.LIVE, second.failure_reason
    assert http_get(live_port(project)) == (200, "hello from v2")
    assert second.dependency_layer_cached is True
    assert Deployment.objects.get(pk=old.pk).state == Deployment.State.SUPERSEDED

    def old_container_removed():
        """the previous container is stopped and removed after its grace period"""
        return not docker_client.containers.list(all=True, filters={"id": old.container_id})

    wait_until(old_container_removed, timeout=30)


def test_syntax_error_fails_readably_and_the_old_version_keeps_answering(
    celery_worker, git_repo, make_project
):
    repo = git_repo(FLASK_APP)
    project = make_project(repo)
    assert deploy(project).state == Build.State.LIVE
    port = live_port(project)
    repo.commit({"app.py": "from flask import Flask\napp = Flask(__name__\n"}, "broken")

    broken = deploy(project)

    assert broken.state == Build.State.FAILED
    assert broken.failure_stage == Build.State.DETECTING
    assert "app.py" in broken.failure_reason, broken.failure_reason
    assert http_get(port) == (200, "hello from v1")
    assert live_port(project) == port


def test_app_crashing_at_start_fails_with_its_traceback_and_the_old_version_keeps_answering(
    celery_worker, git_repo, make_project
):
    repo = git_repo(FLASK_APP)
    project = make_project(repo)
    assert deploy(project).state == Build.State.LIVE
    port = live_port(project)
    crashing = "import missing_module_for_test\n" + FLASK_APP["app.py"]
    repo.commit({"app.py": crashing}, "crash at import")

    broken = deploy(project)

    assert broken.state == Build.State.FAILED
    assert broken.failure_stage == Build.State.HEALTH_CHECKING
    assert "exited with code" in broken.failure_reason or "crashing" in broken.failure_reason
    assert "ModuleNotFoundError: No module named 'missing_module_for_test'" in build_log(broken)
    assert http_get(port) == (200, "hello from v1")
    assert Deployment.objects.get(build=broken).state == Deployment.State.FAILED


def test_health_check_that_never_passes_fails_and_keeps_the_old_version(
    celery_worker, git_repo, make_project, settings
):
    repo = git_repo(FLASK_APP)
    project = make_project(repo, health_check_path="/healthz")
    assert deploy(project).state == Build.State.LIVE
    port = live_port(project)
    unhealthy = FLASK_APP["app.py"].replace("return 'ok'", "return 'down', 503")
    repo.commit({"app.py": unhealthy}, "unhealthy")

    build = deploy(project)

    assert build.state == Build.State.FAILED
    assert "did not pass its health check" in build.failure_reason
    assert "503" in build.failure_reason
    attempts = [line for line in build_log(build).splitlines() if "Health check " in line]
    assert len(attempts) >= 2 and "503" in attempts[-1]
    assert http_get(port) == (200, "hello from v1")


def test_rollback_brings_the_earlier_version_back_without_a_build(
    celery_worker, git_repo, make_project
):
    from builds import services

    repo = git_repo(FLASK_APP)
    project = make_project(repo)
    first = deploy(project)
    repo.commit({"app.py": FLASK_APP["app.py"].replace("from v1", "from v2")}, "v2")
    assert deploy(project).state == Build.State.LIVE

    rollback = wait_for_build(services.request_rollback(project, first))

    assert rollback.state == Build.State.LIVE, rollback.failure_reason
    assert rollback.image_id == first.image_id
    assert "cloning" not in rollback.stage_timings
    assert http_get(live_port(project)) == (200, "hello from v1")


def test_fastapi_app_deploys_with_uvicorn_workers(celery_worker, git_repo, make_project):
    project = make_project(git_repo(FASTAPI_APP))

    build = deploy(project)

    assert build.state == Build.State.LIVE, build.failure_reason + "\n" + build_log(build)
    assert http_get(live_port(project)) == (200, '{"framework":"fastapi"}')
    assert "uvicorn" in build.plan["start_command"]


def test_django_app_deploys_with_collectstatic_and_migrate(celery_worker, git_repo, make_project):
    project = make_project(
        git_repo(DJANGO_APP), env={"SECRET_KEY": "x" * 40, "ALLOWED_HOSTS": ".localhost"}
    )

    build = deploy(project)

    assert build.state == Build.State.LIVE, build.failure_reason + "\n" + build_log(build)
    assert http_get(live_port(project), host=f"{project.slug}.localhost") == (
        200,
        "hello from django",
    )
    log = build_log(build)
    assert "collectstatic" in log
    assert "Applying auth.0001_initial" in log


def test_code_only_django_deploy_skips_migrate_until_a_migration_changes(
    celery_worker, git_repo, make_project, docker_client
):
    repo = git_repo(DJANGO_APP)
    project = make_project(repo, env={"SECRET_KEY": "x" * 40, "ALLOWED_HOSTS": ".localhost"})
    since = int(time.time()) - 1
    first = deploy(project)
    assert first.state == Build.State.LIVE, first.failure_reason + "\n" + build_log(first)
    urls = DJANGO_APP["site_conf/urls.py"]
    repo.commit(
        {"site_conf/urls.py": urls.replace("hello from django", "hello from django v2")},
        "code only",
    )

    code_only = deploy(project)

    assert code_only.state == Build.State.LIVE, code_only.failure_reason
    assert (
        http_get(live_port(project), host=f"{project.slug}.localhost")[1] == "hello from django v2"
    )
    assert (
        "Release skipped: `python manage.py migrate --noinput` already ran for these migrations "
        f"and variables in build #{first.pk}."
    ) in build_log(code_only)
    assert code_only.release_fingerprint == first.release_fingerprint != ""
    migration = (
        "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n    pass\n"
    )
    repo.commit({"notes/migrations/0001_initial.py": migration}, "a migration")

    with_migration = deploy(project)

    assert with_migration.state == Build.State.LIVE, with_migration.failure_reason
    assert "Running the release command" in build_log(with_migration)
    assert with_migration.release_fingerprint not in ("", first.release_fingerprint)
    release_containers = docker_client.events(
        since=since,
        until=int(time.time()) + 1,
        decode=True,
        filters={
            "type": "container",
            "event": "create",
            "label": ["org.deployer.role=release", f"org.deployer.project={project.slug}"],
        },
    )
    released = {int(e["Actor"]["Attributes"]["org.deployer.build"]) for e in release_containers}
    assert released == {first.pk, with_migration.pk}


def test_ship_report_matches_what_the_docker_engine_reports(
    celery_worker, git_repo, make_project, docker_client
):
    from builds import services
    from builds.pipeline.run import memory_usage

    project = make_project(git_repo(FLASK_APP))
    build = deploy(project)
    assert build.state == Build.State.LIVE, build.failure_reason

    measured = services.measure_live_memory(build.pk)

    build.refresh_from_db()
    container_id = Deployment.objects.get(build=build).container_id
    assert build.image_size == docker_client.images.get(build.image_id).attrs["Size"]
    assert 0 < build.seconds_to_healthy < 60
    assert build.memory_usage_bytes == measured
    engine_now = memory_usage(docker_client, container_id)
    assert abs(engine_now - measured) < 0.2 * measured


def test_failing_release_command_fails_the_build_before_the_switch(
    celery_worker, git_repo, make_project
):
    repo = git_repo(FLASK_APP)
    project = make_project(repo)
    assert deploy(project).state == Build.State.LIVE
    port = live_port(project)
    procfile = (
        "release: echo migrating && python -c 'import sys; sys.exit(3)'\n"
        "web: gunicorn app:app --bind 0.0.0.0:$PORT\n"
    )
    repo.commit({"Procfile": procfile}, "a release step that fails")

    build = deploy(project)

    assert build.state == Build.State.FAILED
    assert build.failure_stage == Build.State.RELEASING
    assert "failed with exit code 3" in build.failure_reason
    assert "migrating" in build_log(build)
    assert not Deployment.objects.filter(build=build).exists()
    assert http_get(port) == (200, "hello from v1")


def test_the_live_apps_memory_is_sampled_by_itself_after_the_switch(
    celery_worker, git_repo, make_project
):
    project = make_project(git_repo(FLASK_APP))

    build = deploy(project)
    assert build.state == Build.State.LIVE, build.failure_reason

    def sampled():
        """the worker sampled the app's memory (DEPLOYER_MEMORY_SAMPLE_DELAY is 2 s here)"""
        return Build.objects.get(pk=build.pk).memory_usage_bytes

    assert wait_until(sampled, timeout=30) > 1_000_000
