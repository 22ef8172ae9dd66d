"""Cron jobs: added with a clear error for bad input, due jobs of live projects sent each
minute, a job never overlapping itself, deployer.toml's jobs following the live plan."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError

from builds.models import Build, Deployment
from builds.pipeline.plan import CronJob as PlannedJob
from builds.pipeline.plan import Plan
from processes import cron_jobs
from processes.models import CronJob, CronRun
from projects import services as project_services

pytestmark = pytest.mark.django_db
MINUTE = datetime(2026, 12, 7, 3, 15, tzinfo=UTC)


@pytest.fixture
def project(user):
    return project_services.create_project(user, slug="shop", repo_url="https://example.com/a.git")


@pytest.fixture
def live(project):
    build = Build.objects.create(project=project, state=Build.State.LIVE, image_tag="x")
    Deployment.objects.create(project=project, build=build, state=Deployment.State.LIVE)
    return build


@pytest.fixture
def sent(monkeypatch):
    calls = []
    monkeypatch.setattr(
        "processes.tasks.run_cron_job.delay", lambda *args: calls.append(args), raising=True
    )
    return calls


def test_a_wrong_schedule_is_refused_and_nothing_is_saved(project):
    with pytest.raises(ValidationError) as raised:
        cron_jobs.create_job(project, name="nightly", schedule="0 25 * * *", command="true")

    assert "the hour field '25'" in raised.value.messages[0]
    assert not CronJob.objects.exists()


def test_a_job_needs_a_command_and_a_free_name(project):
    with pytest.raises(ValidationError, match="needs a command"):
        cron_jobs.create_job(project, name="nightly", schedule="0 3 * * *", command="  ")
    cron_jobs.create_job(project, name="nightly", schedule="0 3 * * *", command="true")
    with pytest.raises(ValidationError, match="already has a cron job named 'nightly'"):
        cron_jobs.create_job(project, name="nightly", schedule="0 4 * * *", command="true")


def test_the_tick_sends_the_due_enabled_jobs_of_live_projects(project, live, sent, user):
    due = cron_jobs.create_job(project, name="due", schedule="*/15 * * * *", command="true")
    cron_jobs.create_job(project, name="later", schedule="16 * * * *", command="true")
    paused = cron_jobs.create_job(project, name="paused", schedule="* * * * *", command="true")
    cron_jobs.set_enabled(paused, False)
    idle = project_services.create_project(user, slug="idle", repo_url="https://e.com/b.git")
    cron_jobs.create_job(idle, name="never", schedule="* * * * *", command="true")

    assert cron_jobs.tick(MINUTE.replace(second=30)) == [due.pk]
    assert sent == [(due.pk, MINUTE.isoformat())]


def test_a_job_that_is_running_is_not_started_again(project, live):
    job = cron_jobs.create_job(project, name="slow", schedule="* * * * *", command="sleep 600")
    CronRun.objects.create(job=job, build=live, scheduled_for=MINUTE)

    assert cron_jobs.run_job(job.pk, MINUTE.replace(minute=16)) is None
    assert cron_jobs.run_job(job.pk, None) is None  # "run now" waits for it too
    assert job.runs.count() == 1


def test_a_run_whose_worker_was_lost_is_marked_lost_and_frees_its_job(project, live, settings):
    job = cron_jobs.create_job(project, name="slow", schedule="* * * * *", command="true")
    run = CronRun.objects.create(job=job, build=live, scheduled_for=MINUTE)
    CronRun.objects.filter(pk=run.pk).update(started_at=datetime(2026, 12, 7, 1, 0, tzinfo=UTC))

    assert cron_jobs.mark_lost_runs(MINUTE) == 1
    run.refresh_from_db()
    assert run.state == CronRun.State.LOST and run.finished_at == MINUTE


def test_deployer_toml_jobs_follow_the_live_plan(project):
    cron_jobs.create_job(project, name="mine", schedule="0 1 * * *", command="echo mine")
    plan = Plan(cron=[PlannedJob("cleanup", "0 3 * * *", "python manage.py clearsessions")])
    cron_jobs.sync_config_jobs(project, plan)
    assert set(project.cron_jobs.values_list("name", "source")) == {
        ("mine", "dashboard"),
        ("cleanup", "config"),
    }

    cron_jobs.sync_config_jobs(project, Plan())

    assert list(project.cron_jobs.values_list("name", flat=True)) == ["mine"]


def test_a_pull_request_preview_runs_no_scheduled_jobs(project, live, sent):
    preview = project_services.create_project(
        project.owner, slug="pr-7-shop", repo_url="https://example.com/a.git"
    )
    preview.parent = project
    preview.save(update_fields=["parent"])
    build = Build.objects.create(project=preview, state=Build.State.LIVE, image_tag="y")
    Deployment.objects.create(project=preview, build=build, state=Deployment.State.LIVE)
    plan = Plan(cron=[PlannedJob("mail", "* * * * *", "python manage.py send_mail")])

    cron_jobs.sync_config_jobs(preview, plan)
    cron_jobs.sync_config_jobs(project, plan)

    assert not preview.cron_jobs.exists()
    assert [job.name for job in project.cron_jobs.all()] == ["mail"]
    # Even a job on a preview's row (made by hand) is not sent.
    CronJob.objects.create(project=preview, name="byhand", schedule="* * * * *", command="true")
    assert cron_jobs.tick(MINUTE) == [project.cron_jobs.get().pk]
    assert len(sent) == 1
